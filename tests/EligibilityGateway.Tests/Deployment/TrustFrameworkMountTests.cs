namespace EligibilityGateway.Tests.Deployment;

/// <summary>
/// The gateway reloads its trust framework when the file changes. That only happens in a cluster if the
/// ConfigMap is mounted as a directory (a subPath mount is a one-off copy) and the ConfigMap keeps its name
/// across updates (a hash-suffixed name makes a new ConfigMap and restarts the pods instead).
/// </summary>
public sealed class TrustFrameworkMountTests
{
    private const string ConfigMapName = "trust-framework";
    private readonly KustomizeTree _tree = KustomizeTree.Current;

    [Fact]
    public void Gateway_MountsTheTrustFrameworkConfigMapAsADirectoryWhereTrustFrameworkPathPoints()
    {
        var gateway = _tree.AllResources.Single(m => m.Kind == "Deployment" && m.Name == "gateway");
        var container = gateway.Containers().Single(c => c.Scalar("name") == "gateway");
        var path = container.Env("TrustFramework__Path");

        path.Should().NotBeNull().And.StartWith("/", "the gateway resolves a relative path against its content root, not the mount");
        var mounts = container.Mappings("volumeMounts")
            .Where(m => gateway.PodSpec().Mappings("volumes")
                .Any(v => v.Scalar("name") == m.Scalar("name") && v.At("configMap").Scalar("name") == ConfigMapName))
            .ToList();
        mounts.Should().ContainSingle();
        var mount = mounts[0];
        mount.Scalar("mountPath").Should().Be(Path.GetDirectoryName(path)!.Replace('\\', '/'));
        mount.Child("subPath").Should().BeNull("a subPath mount never sees ConfigMap updates");
        mount.Child("subPathExpr").Should().BeNull("a subPath mount never sees ConfigMap updates");
        mount.Scalar("readOnly").Should().Be("true");
    }

    [Fact]
    public void SandboxOverlay_GeneratesTheTrustFrameworkUnderTheFileNameTheGatewayReadsWithoutAHashSuffix()
    {
        var fileName = TrustFrameworkFileName();
        var sandbox = _tree.KustomizationAt("overlays/sandbox");

        var generator = _tree.GeneratorsOf(sandbox).Should()
            .ContainSingle(g => g.Kind == "ConfigMap" && g.Name == ConfigMapName).Subject;
        generator.Keys.Should().BeEquivalentTo([fileName], "the mounted directory must hold exactly the file TrustFramework__Path names");
        generator.HashSuffix.Should().BeFalse("the sandbox must update the ConfigMap in place so the gateway reloads it");
    }

    /// <summary>
    /// A production trust framework is the operator's (its councils, their keys, its departments' addresses): the
    /// production overlays ship none, so the sandbox's can never reach production, and k8s/README.md tells the operator
    /// to create it under the key the gateway reads. Created by hand it has no hash suffix, so it reloads in place.
    /// </summary>
    [Fact]
    public void ProductionOverlays_LeaveTheTrustFrameworkToTheOperatorUnderTheFileNameTheGatewayReads()
    {
        var fileName = TrustFrameworkFileName();
        var documented = OperatorSuppliedObjects.FromReadme().Should()
            .ContainSingle(o => o.Kind == "ConfigMap" && o.Name == ConfigMapName, "k8s/README.md must tell the operator to create it").Subject;

        documented.Keys.Should().BeEquivalentTo([fileName]);
        foreach (var overlay in ProductionOverlayTests.Overlays)
        {
            _tree.GeneratorsOf(_tree.KustomizationAt(overlay)).Should().NotContain(g => g.Name == ConfigMapName, overlay);
            RenderedOverlay.Of(overlay).OfKind("ConfigMap").Should().NotContain(m => m.Name.StartsWith(ConfigMapName, StringComparison.Ordinal), overlay);
            documented.Overlays.Should().Contain(Path.GetFileName(overlay));
        }

        _tree.Overlays.Select(o => o.RelativeDirectory).Should().BeEquivalentTo(ProductionOverlayTests.Overlays.Append("overlays/sandbox"),
            "every overlay is either the sandbox or a production overlay, and each kind is checked above");
    }

    private string TrustFrameworkFileName()
    {
        var gateway = _tree.AllResources.Single(m => m.Kind == "Deployment" && m.Name == "gateway");
        return Path.GetFileName(gateway.Containers().Single(c => c.Scalar("name") == "gateway").Env("TrustFramework__Path"))!;
    }
}
