using System.Text.RegularExpressions;

namespace EligibilityGateway.Tests.Deployment;

/// <summary>
/// One row of the table in k8s/README.md, under "What the operator creates", that lists what the operator creates
/// before applying an overlay:
/// <c>| kind | `name` | `key`, … | what it is | `overlay`, … |</c>. Read so that the manifests and the instructions
/// cannot drift apart.
/// </summary>
internal sealed partial record OperatorSuppliedObjects(string Kind, string Name, IReadOnlySet<string> Keys, IReadOnlySet<string> Overlays)
{
    private const string Heading = "### What the operator creates";

    public static IReadOnlyList<OperatorSuppliedObjects> FromReadme()
    {
        var rows = File.ReadAllLines(Path.Combine(RepositoryRoot.Path, "k8s", "README.md"))
            .SkipWhile(line => line != Heading)
            .Skip(1)
            .TakeWhile(line => !line.StartsWith('#'))
            .Where(line => line.StartsWith("| Secret ", StringComparison.Ordinal) || line.StartsWith("| ConfigMap ", StringComparison.Ordinal))
            .Select(line => line.Trim().Trim('|').Split('|').Select(cell => cell.Trim()).ToArray())
            .Where(cells => cells.Length == 5)
            .Select(cells => new OperatorSuppliedObjects(
                cells[0],
                Quoted(cells[1]).SingleOrDefault() ?? "",
                Quoted(cells[2]).ToHashSet(StringComparer.Ordinal),
                Quoted(cells[4]).ToHashSet(StringComparer.Ordinal)))
            .ToList();
        return rows.Count > 0 ? rows : throw new InvalidOperationException($"k8s/README.md has no table of the Secrets and ConfigMaps the operator creates under '{Heading}'.");
    }

    private static IEnumerable<string> Quoted(string cell) => CodeSpan().Matches(cell).Select(m => m.Groups[1].Value);

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex CodeSpan();
}
