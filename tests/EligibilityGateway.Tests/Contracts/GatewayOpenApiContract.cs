using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.Deployment;

namespace EligibilityGateway.Tests.Contracts;

/// <summary>The committed gateway contract: where it lives, how it is written, and lookups into it.</summary>
internal static class GatewayContract
{
    public const string RelativePath = "contracts/gateway.openapi.json";

    public const string RegenerateCommand = "UPDATE_CONTRACTS=1 dotnet test tests/EligibilityGateway.Tests --filter GatewayOpenApi";

    private static readonly string[] OperationMethods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

    private static readonly JsonSerializerOptions Pretty = new()
    {
        WriteIndented = true,
        IndentSize = 2,
        NewLine = "\n",
        // The document holds regular expressions and typographic apostrophes; keep them legible.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly Lazy<JsonDocument> Committed = new(() => JsonDocument.Parse(File.ReadAllText(Path)));

    public static string Path => System.IO.Path.Combine(RepositoryRoot.Path, RelativePath);

    public static bool UpdateRequested => Environment.GetEnvironmentVariable("UPDATE_CONTRACTS") is "1" or "true";

    /// <summary>The committed document.</summary>
    public static JsonElement Document => Committed.Value.RootElement;

    /// <summary>Two-space indentation, LF, a final newline; members in the order the gateway serves them.</summary>
    public static string Format(JsonNode document) => document.ToJsonString(Pretty) + "\n";

    public static void Write(JsonNode document) => File.WriteAllText(Path, Format(document), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));

    /// <summary>Every (path, METHOD) the document declares.</summary>
    public static IEnumerable<(string Path, string Method)> Operations() =>
        Document.GetProperty("paths").EnumerateObject().SelectMany(path => path.Value.EnumerateObject()
            .Where(member => OperationMethods.Contains(member.Name))
            .Select(member => (path.Name, member.Name.ToUpperInvariant())));

    public static JsonElement Operation(string path, string method) =>
        Document.GetProperty("paths").GetProperty(path).GetProperty(method.ToLowerInvariant());

    /// <summary>The schema of one documented response, for <see cref="JsonSchemaValidator"/>.</summary>
    public static JsonElement ResponseSchema(string path, string method, int status, string mediaType) =>
        Operation(path, method).GetProperty("responses").GetProperty(status.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .GetProperty("content").GetProperty(mediaType).GetProperty("schema");

    public static JsonElement ComponentSchema(string name) => Document.GetProperty("components").GetProperty("schemas").GetProperty(name);

    /// <summary>Validates <paramref name="instance"/> against a schema of the committed document.</summary>
    public static IReadOnlyList<string> Validate(JsonElement schema, string instance)
    {
        using var value = JsonDocument.Parse(instance);
        return JsonSchemaValidator.Validate(schema, value.RootElement, Document);
    }

    /// <summary>A JSON pointer to the first place two documents differ, for a failure message a person can act on.</summary>
    public static string FirstDifference(JsonNode? expected, JsonNode? actual, string pointer)
    {
        if (expected is JsonObject e && actual is JsonObject a)
        {
            foreach (var name in e.Select(p => p.Key).Union(a.Select(p => p.Key)))
            {
                var at = pointer + "/" + name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
                if (!e.ContainsKey(name))
                {
                    return $"{at} is served but not committed";
                }

                if (!a.ContainsKey(name))
                {
                    return $"{at} is committed but not served";
                }

                if (!JsonNode.DeepEquals(e[name], a[name]))
                {
                    return FirstDifference(e[name], a[name], at);
                }
            }
        }
        else if (expected is JsonArray ea && actual is JsonArray aa && ea.Count == aa.Count)
        {
            for (var i = 0; i < ea.Count; i++)
            {
                if (!JsonNode.DeepEquals(ea[i], aa[i]))
                {
                    return FirstDifference(ea[i], aa[i], $"{pointer}/{i}");
                }
            }
        }

        return $"{(pointer.Length == 0 ? "/" : pointer)}: committed {Show(expected)}, served {Show(actual)}";
    }

    private static string Show(JsonNode? node)
    {
        var text = node?.ToJsonString() ?? "null";
        return text.Length > 120 ? text[..117] + "..." : text;
    }
}
