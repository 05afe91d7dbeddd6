using YamlDotNet.RepresentationModel;

namespace EligibilityGateway.Tests.Deployment;

/// <summary>Null-tolerant navigation of parsed YAML, so a missing field reads as "absent" in an assertion rather than a crash.</summary>
internal static class YamlNodeExtensions
{
    public static YamlNode? Child(this YamlNode? node, string key) =>
        node is YamlMappingNode mapping && mapping.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

    public static YamlMappingNode? Mapping(this YamlNode? node, string key) => node.Child(key) as YamlMappingNode;

    public static string? Scalar(this YamlNode? node, string key) => (node.Child(key) as YamlScalarNode)?.Value;

    /// <summary>Follows a dotted path of mapping keys, e.g. <c>spec.template.spec</c>.</summary>
    public static YamlNode? At(this YamlNode? node, string path) =>
        path.Split('.').Aggregate(node, (current, key) => current.Child(key));

    public static IReadOnlyList<YamlMappingNode> Mappings(this YamlNode? node, string key) =>
        node.Child(key) is YamlSequenceNode sequence ? sequence.Children.OfType<YamlMappingNode>().ToList() : [];

    public static IReadOnlyList<string> Scalars(this YamlNode? node, string key) =>
        node.Child(key) is YamlSequenceNode sequence
            ? sequence.Children.OfType<YamlScalarNode>().Select(s => s.Value ?? "").ToList()
            : [];

    /// <summary>A mapping of scalars (labels, selectors) as a dictionary; empty when absent.</summary>
    public static IReadOnlyDictionary<string, string> StringMap(this YamlNode? node, string key) =>
        node.Child(key) is YamlMappingNode mapping
            ? mapping.Children.ToDictionary(
                pair => ((YamlScalarNode)pair.Key).Value ?? "",
                pair => (pair.Value as YamlScalarNode)?.Value ?? "",
                StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);
}
