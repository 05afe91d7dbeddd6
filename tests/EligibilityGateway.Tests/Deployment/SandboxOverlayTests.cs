using System.Globalization;
using System.Text;

namespace EligibilityGateway.Tests.Deployment;

public sealed class SandboxOverlayTests
{
    // trust-frameworks/sandbox.yaml is written for the sandbox host, where the mock listens on loopback; in the
    // cluster the gateway reaches the mock through its Service. This is the only change the overlay's copy makes.
    private const string LoopbackMock = "http://127.0.0.1:8081/";
    private const string ClusterMock = "http://mock-central-government/";

    private readonly KustomizeTree _tree = KustomizeTree.Current;
    private Kustomization Sandbox => _tree.KustomizationAt("overlays/sandbox");

    [Fact]
    public void SandboxTrustFramework_IsTrustFrameworksSandboxYamlWithTheProvidersAtTheMockService()
    {
        var source = Path.Combine(RepositoryRoot.Path, "trust-frameworks", "sandbox.yaml");
        var copy = _tree.GeneratorsOf(Sandbox).Single(g => g.Name == "trust-framework").Files.Single().FullPath;
        var refresh = $"sed 's#{LoopbackMock}#{ClusterMock}#g' trust-frameworks/sandbox.yaml > k8s/{_tree.RelativeTo(copy)}";

        File.Exists(source).Should().BeTrue("the overlay is derived from trust-frameworks/sandbox.yaml");
        _tree.RelativeTo(copy).Should().StartWith("overlays/sandbox/", "kustomize loads no file outside the overlay");
        File.Exists(copy).Should().BeTrue("the overlay's configMapGenerator reads it; create it with: {0}", refresh);
        var original = File.ReadAllBytes(source);
        Encoding.UTF8.GetString(original).Should().Contain(LoopbackMock,
            "the sandbox framework points its providers at the mock on loopback, which in a cluster is the mock's Service");

        var expected = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(original).Replace(LoopbackMock, ClusterMock, StringComparison.Ordinal));
        FirstDifference(expected, File.ReadAllBytes(copy)).Should().BeNull(
            "k8s/{0} must be trust-frameworks/sandbox.yaml with only the mock's address changed; refresh it with: {1}",
            _tree.RelativeTo(copy), refresh);
    }

    [Fact]
    public void SandboxTrustFramework_SendsEveryProviderToTheMockServicePort()
    {
        var copy = _tree.GeneratorsOf(Sandbox).Single(g => g.Name == "trust-framework").Files.Single().FullPath;
        var providers = YamlFile.Read(copy, _tree.RelativeTo(copy)).Documents.Single().Mappings("providers");
        var service = _tree.ResourcesOf(Sandbox).Single(m => m.Kind == "Service" && m.Name == "mock-central-government");
        var clusterMock = new Uri(ClusterMock);

        clusterMock.Host.Should().Be(service.Name, "inside the namespace a Service is reached by its name");
        service.Document.At("spec").Mappings("ports").Select(p => p.Scalar("port")).Should().Contain(clusterMock.Port.ToString(CultureInfo.InvariantCulture));
        providers.Select(p => p.Scalar("id")).Should().BeEquivalentTo("dwp", "hmrc", "home-office");
        providers.Select(p => p.Scalar("base_url")).Should().OnlyContain(url => url != null && url.StartsWith(ClusterMock, StringComparison.Ordinal));
    }

    [Fact]
    public void SandboxOverlay_RunsOneOfEachDeploymentInARestrictedNamespaceOfItsOwn()
    {
        var ns = Sandbox.Node.Scalar("namespace");
        ns.Should().Be("eligibility-gateway-sandbox");

        var resources = _tree.ResourcesOf(Sandbox);
        var namespaceObject = resources.Should().ContainSingle(m => m.Kind == "Namespace").Subject;
        namespaceObject.Name.Should().Be(ns);
        namespaceObject.Document.At("metadata").StringMap("labels")
            .Should().Contain("pod-security.kubernetes.io/enforce", "restricted");

        var deployments = resources.Where(m => m.Kind == "Deployment").Select(d => d.Name).ToList();
        deployments.Should().BeEquivalentTo("gateway", "mock-central-government");
        Sandbox.Node.Mappings("replicas")
            .ToDictionary(r => r.Scalar("name") ?? "", r => r.Scalar("count"))
            .Should().BeEquivalentTo(deployments.ToDictionary(d => d, _ => (string?)"1"));
    }

    [Fact]
    public void SandboxOverlay_GivesTheMockItsSandboxProviderCredentials()
    {
        var secret = _tree.GeneratorsOf(Sandbox).Should().ContainSingle(g => g.Kind == "Secret" && g.Name == "provider-credentials").Subject;
        var literals = Sandbox.Node.Mappings("secretGenerator").Single(g => g.Scalar("name") == "provider-credentials").Scalars("literals");

        literals.Should().BeEquivalentTo(
            "dwp=dwp-sandbox-credential",
            "hmrc=hmrc-sandbox-credential",
            "home-office=home-office-sandbox-credential");
        secret.HashSuffix.Should().BeTrue("a changed credential must roll the pods that read it from their environment");
    }

    /// <summary>Where two files first differ, as a line number and byte offset a person can go to; null when identical.</summary>
    private static string? FirstDifference(byte[] expected, byte[] actual)
    {
        var length = Math.Min(expected.Length, actual.Length);
        var offset = 0;
        while (offset < length && expected[offset] == actual[offset])
        {
            offset++;
        }

        if (offset == length && expected.Length == actual.Length)
        {
            return null;
        }

        var line = 1 + expected.AsSpan(0, offset).Count((byte)'\n');
        return $"first difference at line {line} (byte {offset}); source is {expected.Length} bytes, copy {actual.Length}";
    }
}
