namespace EligibilityGateway.Tests.Deployment;

public sealed class GatewayStorageTests
{
    [Fact]
    public void Gateway_KeepsItsStoresOnAWritableVolumeWhereStorageDirectoryPoints()
    {
        var gateway = KustomizeTree.Current.AllResources.Single(m => m.Kind == "Deployment" && m.Name == "gateway");
        var container = gateway.Containers().Single(c => c.Scalar("name") == "gateway");
        var directory = container.Env("Storage__Directory");

        directory.Should().NotBeNull().And.StartWith("/");
        var mount = container.Mappings("volumeMounts").Should().ContainSingle(m => m.Scalar("mountPath") == directory,
            "the root filesystem is read-only, so SQLite needs a volume of its own").Subject;
        mount.Scalar("readOnly").Should().NotBe("true");
        gateway.PodSpec().Mappings("volumes").Should().Contain(v => v.Scalar("name") == mount.Scalar("name") && v.Child("emptyDir") != null);
    }
}
