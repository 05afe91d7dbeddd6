namespace EligibilityGateway.Tests.Deployment;

/// <summary>The workload rules again, on each overlay as rendered: a patch must not undo what the base holds.</summary>
public sealed class RenderedOverlayTests
{
    public static TheoryData<string> AllOverlays => new(KustomizeTree.Current.Overlays.Select(o => o.RelativeDirectory));

    [Theory]
    [MemberData(nameof(AllOverlays))]
    public void EveryWorkload_StaysHardenedAfterTheOverlaysPatches(string overlay)
    {
        var workloads = RenderedOverlay.Of(overlay).Workloads;

        workloads.Should().NotBeEmpty();
        workloads.SelectMany(WorkloadRules.Hardening).Should().BeEmpty();
        workloads.SelectMany(WorkloadRules.WritableTmp).Should().BeEmpty();
        workloads.SelectMany(WorkloadRules.SelectsItsOwnPods).Should().BeEmpty();
    }

    [Theory]
    [MemberData(nameof(AllOverlays))]
    public void EveryWorkload_RequestsAndLimitsResourcesAndProbesLivenessAndReadiness(string overlay)
    {
        var workloads = RenderedOverlay.Of(overlay).Workloads;

        workloads.Should().NotBeEmpty();
        workloads.SelectMany(WorkloadRules.Resources).Should().BeEmpty();
        workloads.SelectMany(WorkloadRules.Probes).Should().BeEmpty();
    }

    [Theory]
    [MemberData(nameof(AllOverlays))]
    public void EveryImage_NamesATagOrDigestOtherThanLatest(string overlay)
    {
        var images = RenderedOverlay.Of(overlay).Workloads.SelectMany(w => w.AllContainers().Select(c => c.Scalar("image") ?? "")).ToList();

        images.Should().NotBeEmpty();
        images.Where(image =>
            {
                var name = image.Split('@')[0];
                var tag = name.LastIndexOf(':') > name.LastIndexOf('/') ? name[(name.LastIndexOf(':') + 1)..] : null;
                return !image.Contains('@', StringComparison.Ordinal) && (tag is null || tag == "latest");
            })
            .Should().BeEmpty("an image without a tag or digest, or tagged latest, is whatever the registry holds on the day");
    }
}
