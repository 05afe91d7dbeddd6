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
    public void EveryOverlay_GeneratesTheTrustFrameworkUnderTheFileNameTheGatewayReadsWithoutAHashSuffix()
    {
        var gateway = _tree.AllResources.Single(m => m.Kind == "Deployment" && m.Name == "gateway");
        var fileName = Path.GetFileName(gateway.Containers().Single(c => c.Scalar("name") == "gateway").Env("TrustFramework__Path"));

        _tree.Overlays.Should().NotBeEmpty();
        foreach (var overlay in _tree.Overlays)
        {
            var generator = _tree.GeneratorsOf(overlay).Should()
                .ContainSingle(g => g.Kind == "ConfigMap" && g.Name == ConfigMapName, overlay.RelativeDirectory).Subject;
            generator.Keys.Should().BeEquivalentTo([fileName], "the mounted directory must hold exactly the file TrustFramework__Path names");
            generator.HashSuffix.Should().BeFalse("{0} must update the ConfigMap in place so the gateway reloads it", overlay.RelativeDirectory);
        }
    }
}
