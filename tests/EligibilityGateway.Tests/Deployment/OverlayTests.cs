using YamlDotNet.RepresentationModel;

namespace EligibilityGateway.Tests.Deployment;

/// <summary>What the base leaves to each overlay, checked against every overlay.</summary>
public sealed class OverlayTests
{
    private readonly KustomizeTree _tree = KustomizeTree.Current;

    [Fact]
    public void EveryOverlay_GeneratesEveryConfigMapAndSecretItsDeploymentsReference()
    {
        var failures = new List<string>();
        foreach (var overlay in _tree.Overlays)
        {
            var generated = _tree.GeneratorsOf(overlay);
            var references = _tree.ResourcesOf(overlay).Where(m => m.Kind == "Deployment").SelectMany(References).ToList();
            references.Should().NotBeEmpty($"the deployments of {overlay.RelativeDirectory} read a trust framework and credentials");

            foreach (var (kind, name, key, from) in references)
            {
                var generator = generated.SingleOrDefault(g => g.Kind == kind && g.Name == name);
                if (generator is null)
                {
                    failures.Add($"{overlay.RelativeDirectory}: {from} needs {kind} '{name}', which no generator makes");
                }
                else if (key is not null && !generator.Keys.Contains(key))
                {
                    failures.Add($"{overlay.RelativeDirectory}: {from} needs key '{key}' of {kind} '{name}'; it has {string.Join(", ", generator.Keys)}");
                }
            }
        }

        _tree.Overlays.Should().NotBeEmpty();
        failures.Should().BeEmpty();
    }

    [Fact]
    public void EveryOverlay_TagsEveryImageItsDeploymentsRun()
    {
        var failures = new List<string>();
        foreach (var overlay in _tree.Overlays)
        {
            var tagged = _tree.ImagesTaggedBy(overlay);
            var images = _tree.ResourcesOf(overlay)
                .Where(m => m.Kind == "Deployment")
                .SelectMany(d => d.AllContainers().Select(c => c.Scalar("image") ?? ""))
                .ToList();
            images.Should().NotBeEmpty();
            failures.AddRange(images.Where(i => !tagged.Contains(i)).Select(i => $"{overlay.RelativeDirectory}: no tag set for image '{i}'"));
        }

        _tree.Overlays.Should().NotBeEmpty();
        failures.Should().BeEmpty();
    }

    [Fact]
    public void BaseImages_NameNoTagSoEachOverlayChoosesIt()
    {
        var images = _tree.ResourcesOf(_tree.KustomizationAt("base"))
            .Where(m => m.Kind == "Deployment")
            .SelectMany(d => d.AllContainers().Select(c => c.Scalar("image") ?? ""))
            .ToList();

        images.Should().BeEquivalentTo("ghcr.io/eligibility-gateway/gateway", "ghcr.io/eligibility-gateway/mock-central-government");
    }

    private static IEnumerable<(string Kind, string Name, string? Key, string From)> References(Manifest deployment)
    {
        foreach (var volume in deployment.PodSpec().Mappings("volumes"))
        {
            foreach (var (kind, field, nameField) in new[] { ("ConfigMap", "configMap", "name"), ("Secret", "secret", "secretName") })
            {
                if (volume.Mapping(field) is { } source)
                {
                    var keys = source.Mappings("items").Select(i => i.Scalar("key")).ToList();
                    var name = source.Scalar(nameField) ?? "";
                    var from = $"{deployment.Name} volume '{volume.Scalar("name")}'";
                    if (keys.Count == 0)
                    {
                        yield return (kind, name, null, from);
                    }

                    foreach (var key in keys)
                    {
                        yield return (kind, name, key, from);
                    }
                }
            }
        }

        foreach (var container in deployment.AllContainers())
        {
            foreach (var env in container.Mappings("env"))
            {
                var from = $"{deployment.Name}/{container.Scalar("name")} env {env.Scalar("name")}";
                if (env.At("valueFrom.secretKeyRef") is YamlMappingNode secret)
                {
                    yield return ("Secret", secret.Scalar("name") ?? "", secret.Scalar("key"), from);
                }

                if (env.At("valueFrom.configMapKeyRef") is YamlMappingNode configMap)
                {
                    yield return ("ConfigMap", configMap.Scalar("name") ?? "", configMap.Scalar("key"), from);
                }
            }

            foreach (var envFrom in container.Mappings("envFrom"))
            {
                var from = $"{deployment.Name}/{container.Scalar("name")} envFrom";
                if (envFrom.Mapping("secretRef") is { } secret)
                {
                    yield return ("Secret", secret.Scalar("name") ?? "", null, from);
                }

                if (envFrom.Mapping("configMapRef") is { } configMap)
                {
                    yield return ("ConfigMap", configMap.Scalar("name") ?? "", null, from);
                }
            }
        }
    }
}
