using YamlDotNet.RepresentationModel;

namespace EligibilityGateway.Tests.Deployment;

/// <summary>Reads the parts of a Deployment the checks need: pod spec, containers, effective security settings.</summary>
internal static class Workload
{
    public static YamlNode? PodSpec(this Manifest deployment) => deployment.Document.At("spec.template.spec");

    public static IReadOnlyDictionary<string, string> PodLabels(this Manifest deployment) =>
        deployment.Document.At("spec.template.metadata").StringMap("labels");

    /// <summary>Containers and init containers: both run code, so both are held to the same rules.</summary>
    public static IReadOnlyList<YamlMappingNode> AllContainers(this Manifest deployment) =>
        [.. deployment.PodSpec().Mappings("initContainers"), .. deployment.PodSpec().Mappings("containers")];

    public static IReadOnlyList<YamlMappingNode> Containers(this Manifest deployment) =>
        deployment.PodSpec().Mappings("containers");

    /// <summary>A container's security setting, falling back to the pod's where Kubernetes does (runAsUser, runAsNonRoot, seccomp…).</summary>
    public static string? EffectiveSecurity(this Manifest deployment, YamlNode container, string path) =>
        Leaf(container.At("securityContext"), path) ?? Leaf(deployment.PodSpec().At("securityContext"), path);

    public static string? Env(this YamlNode container, string name) =>
        container.Mappings("env").FirstOrDefault(e => e.Scalar("name") == name)?.Scalar("value");

    public static string Describe(this Manifest deployment, YamlNode container) =>
        $"{deployment.Name}/{container.Scalar("name")} ({deployment.File})";

    private static string? Leaf(YamlNode? node, string path)
    {
        var separator = path.LastIndexOf('.');
        return separator < 0 ? node.Scalar(path) : node.At(path[..separator]).Scalar(path[(separator + 1)..]);
    }
}
