using YamlDotNet.RepresentationModel;

namespace EligibilityGateway.Tests.Deployment;

/// <summary>What the base leaves to each overlay, checked against every overlay.</summary>
public sealed class OverlayTests
{
    private readonly KustomizeTree _tree = KustomizeTree.Current;

    /// <summary>
    /// What a pod or an Ingress names must exist when it is applied: either the overlay renders it (the sandbox
    /// generates everything), or the operator creates it, and then k8s/README.md says so in its table of what the
    /// operator creates, with the key and the overlay. Nothing else is left to chance.
    /// </summary>
    /// <summary>
    /// On SIGTERM the gateway stops within the host's shutdown timeout (readiness fails, requests in flight finish, the
    /// audit log flushes and signs a checkpoint); a preStop sleep comes before it. Both must end inside the grace
    /// period, in every overlay, or the kubelet kills the process mid-flush.
    /// </summary>
    [Fact]
    public void EveryOverlay_StopsTheGatewayWithinTheGracePeriod()
    {
        foreach (var overlay in _tree.Overlays)
        {
            var rendered = RenderedOverlay.Of(overlay.RelativeDirectory);
            var container = rendered.GatewayContainer;
            var grace = int.Parse(rendered.Gateway.PodSpec()!.Scalar("terminationGracePeriodSeconds") ?? "30", System.Globalization.CultureInfo.InvariantCulture);
            var timeout = container.Env("DOTNET_SHUTDOWNTIMEOUTSECONDS");
            timeout.Should().NotBeNull($"{overlay.RelativeDirectory} must bound the gateway's stop itself (the host's default is 30 s, the pod's default grace too)");
            var sleep = container.At("lifecycle.preStop.sleep")?.Scalar("seconds") ?? "0";

            (int.Parse(sleep, System.Globalization.CultureInfo.InvariantCulture) + int.Parse(timeout!, System.Globalization.CultureInfo.InvariantCulture))
                .Should().BeLessThan(grace, $"in {overlay.RelativeDirectory} the preStop sleep and the host's shutdown must end before the kubelet kills the process");
        }
    }

    [Fact]
    public void EveryOverlay_RendersOrDocumentsEveryConfigMapAndSecretItReferences()
    {
        var documented = OperatorSuppliedObjects.FromReadme();
        var failures = new List<string>();
        foreach (var overlay in _tree.Overlays)
        {
            var rendered = RenderedOverlay.Of(overlay.RelativeDirectory);
            var overlayName = Path.GetFileName(overlay.RelativeDirectory);
            var references = rendered.Objects.SelectMany(References).ToList();
            references.Should().NotBeEmpty($"the workloads of {overlay.RelativeDirectory} read a trust framework and credentials");

            foreach (var (kind, name, key, from) in references)
            {
                var existing = rendered.Objects.SingleOrDefault(m => m.Kind == kind && m.Name == name);
                if (existing is not null)
                {
                    var keys = existing.Document.StringMap("data").Keys.Concat(existing.Document.StringMap("stringData").Keys);
                    if (key is not null && !keys.Contains(key))
                    {
                        failures.Add($"{overlay.RelativeDirectory}: {from} needs key '{key}' of {kind} '{name}'; it has {string.Join(", ", keys)}");
                    }

                    continue;
                }

                var row = documented.SingleOrDefault(d => d.Kind == kind && d.Name == name);
                if (row is null)
                {
                    failures.Add($"{overlay.RelativeDirectory}: {from} needs {kind} '{name}', which the overlay does not render and k8s/README.md does not list for the operator to create");
                }
                else if (!row.Overlays.Contains(overlayName))
                {
                    failures.Add($"{overlay.RelativeDirectory}: k8s/README.md lists {kind} '{name}' but not for `{overlayName}`");
                }
                else if (key is not null && !row.Keys.Contains(key))
                {
                    failures.Add($"{overlay.RelativeDirectory}: {from} needs key '{key}' of {kind} '{name}'; k8s/README.md lists {string.Join(", ", row.Keys)}");
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

        images.Should().BeEquivalentTo(["ghcr.io/eligibility-gateway/gateway"], "the base holds what every environment runs; the mock is the sandbox's own");
    }

    /// <summary>The ConfigMaps and Secrets an object names: pod volumes (projected ones too), env, envFrom, an Ingress's TLS.</summary>
    private static IEnumerable<(string Kind, string Name, string? Key, string From)> References(Manifest manifest)
    {
        foreach (var tls in manifest.Kind == "Ingress" ? manifest.Document.At("spec").Mappings("tls") : [])
        {
            yield return ("Secret", tls.Scalar("secretName") ?? "", null, $"{manifest} tls");
        }

        if (manifest.Kind is not ("Deployment" or "StatefulSet"))
        {
            yield break;
        }

        foreach (var volume in manifest.PodSpec().Mappings("volumes"))
        {
            var from = $"{manifest.Name} volume '{volume.Scalar("name")}'";
            var sources = volume.At("projected").Mappings("sources").Append(volume);
            foreach (var source in sources)
            {
                foreach (var (kind, field, nameField) in new[] { ("ConfigMap", "configMap", "name"), ("Secret", "secret", volume == source ? "secretName" : "name") })
                {
                    if (source.Mapping(field) is { } reference)
                    {
                        var keys = reference.Mappings("items").Select(i => i.Scalar("key")).ToList();
                        var name = reference.Scalar(nameField) ?? "";
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
        }

        foreach (var container in manifest.AllContainers())
        {
            foreach (var env in container.Mappings("env"))
            {
                var from = $"{manifest.Name}/{container.Scalar("name")} env {env.Scalar("name")}";
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
                var from = $"{manifest.Name}/{container.Scalar("name")} envFrom";
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
