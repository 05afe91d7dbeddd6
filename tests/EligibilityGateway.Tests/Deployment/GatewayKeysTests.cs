using YamlDotNet.RepresentationModel;

namespace EligibilityGateway.Tests.Deployment;

/// <summary>
/// The gateway will not start without <c>Keys:Directory</c>: either keys it may generate on a writable volume
/// (sandbox) or keys mounted from a Secret (everywhere else). Overlays set this with patches, so the check
/// merges the gateway container's env and mounts the way a strategic-merge patch does (lists keyed by name
/// and mount path).
/// </summary>
public sealed class GatewayKeysTests
{
    private readonly KustomizeTree _tree = KustomizeTree.Current;

    [Fact]
    public void EveryOverlay_GivesTheGatewayAKeyDirectoryItCanUse()
    {
        var failures = new List<string>();
        foreach (var overlay in _tree.Overlays)
        {
            var (env, mounts, volumes) = EffectiveGateway(overlay);
            var directory = env.GetValueOrDefault("Keys__Directory");
            if (directory is null || !directory.StartsWith('/'))
            {
                failures.Add($"{overlay.RelativeDirectory}: the gateway needs an absolute Keys__Directory, found '{directory}'");
                continue;
            }

            var mount = mounts.Values
                .Where(m => directory == m.Scalar("mountPath") || directory.StartsWith(m.Scalar("mountPath") + "/", StringComparison.Ordinal))
                .MaxBy(m => m.Scalar("mountPath")!.Length);
            var volume = mount is null ? null : volumes.GetValueOrDefault(mount.Scalar("name") ?? "");
            if (env.GetValueOrDefault("Keys__GenerateIfMissing") == "true")
            {
                if (volume?.Child("emptyDir") is null || mount!.Scalar("readOnly") == "true")
                {
                    failures.Add($"{overlay.RelativeDirectory}: generated keys need a writable emptyDir at or above {directory}");
                }
            }
            else if (volume?.Child("secret") is null || mount!.Scalar("mountPath") != directory)
            {
                failures.Add($"{overlay.RelativeDirectory}: keys that are not generated must be a Secret mounted at {directory}");
            }
        }

        _tree.Overlays.Should().NotBeEmpty();
        failures.Should().BeEmpty();
    }

    private (Dictionary<string, string?> Env, Dictionary<string, YamlMappingNode> Mounts, Dictionary<string, YamlMappingNode> Volumes) EffectiveGateway(Kustomization overlay)
    {
        var gateway = _tree.ResourcesOf(overlay).Single(m => m.Kind == "Deployment" && m.Name == "gateway");
        var patches = _tree.PatchesOf(overlay).Where(p => p.Kind == "Deployment" && p.Name == "gateway").ToList();
        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        var mounts = new Dictionary<string, YamlMappingNode>(StringComparer.Ordinal);
        var volumes = new Dictionary<string, YamlMappingNode>(StringComparer.Ordinal);

        foreach (var layer in patches.Prepend(gateway))
        {
            foreach (var container in layer.Containers().Where(c => c.Scalar("name") == "gateway"))
            {
                foreach (var variable in container.Mappings("env"))
                {
                    env[variable.Scalar("name") ?? ""] = variable.Scalar("value");
                }

                foreach (var volumeMount in container.Mappings("volumeMounts"))
                {
                    mounts[volumeMount.Scalar("mountPath") ?? ""] = volumeMount;
                }
            }

            foreach (var volume in layer.PodSpec().Mappings("volumes"))
            {
                volumes[volume.Scalar("name") ?? ""] = volume;
            }
        }

        return (env, mounts, volumes);
    }
}
