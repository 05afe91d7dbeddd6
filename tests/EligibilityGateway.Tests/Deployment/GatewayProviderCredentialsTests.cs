using EligibilityGateway.TrustFramework;
using YamlDotNet.RepresentationModel;

namespace EligibilityGateway.Tests.Deployment;

/// <summary>
/// The gateway refuses to start unless it holds a credential for every provider its trust framework names
/// (<c>Providers:&lt;id&gt;:Credential</c>). In the cluster those come from the Secret the mock checks them
/// against, so the two can never drift apart.
/// </summary>
public sealed class GatewayProviderCredentialsTests
{
    private readonly KustomizeTree _tree = KustomizeTree.Current;

    [Fact]
    public void Gateway_TakesACredentialForEverySandboxProviderFromTheProviderCredentialsSecret()
    {
        var overlay = _tree.KustomizationAt("overlays/sandbox");
        var framework = TrustFrameworkLoader.LoadFile(
            Path.Combine(RepositoryRoot.Path, "k8s", "overlays", "sandbox", "trust-framework", "sandbox.yaml"), "sandbox.yaml");
        framework.Definition.Should().NotBeNull(string.Join("\n", framework.Errors));
        var providers = framework.Definition!.Providers.Select(p => p.Id).ToList();
        var gateway = _tree.ResourcesOf(overlay).Single(m => m.Kind == "Deployment" && m.Name == "gateway")
            .Containers().Single(c => c.Scalar("name") == "gateway");
        var secretKeys = SecretLiterals(overlay, "provider-credentials");

        providers.Should().BeEquivalentTo("dwp", "hmrc", "home-office");
        foreach (var provider in providers)
        {
            var variable = gateway.Mappings("env").SingleOrDefault(e => e.Scalar("name") == $"Providers__{provider}__Credential");
            variable.Should().NotBeNull($"the gateway needs Providers__{provider}__Credential");
            var reference = variable!.At("valueFrom.secretKeyRef");
            reference.Scalar("name").Should().Be("provider-credentials");
            reference.Scalar("key").Should().Be(provider);
            secretKeys.Should().Contain(provider, "the sandbox overlay must create every key the gateway reads");
        }
    }

    private static IReadOnlyList<string> SecretLiterals(Kustomization overlay, string name)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(File.ReadAllText(Path.Combine(RepositoryRoot.Path, "k8s", overlay.RelativeDirectory, "kustomization.yaml")));
        stream.Load(reader);
        return stream.Documents[0].RootNode.Mappings("secretGenerator")
            .Where(s => s.Scalar("name") == name)
            .SelectMany(s => s.Scalars("literals"))
            .Select(l => l[..l.IndexOf('=', StringComparison.Ordinal)])
            .ToList();
    }
}
