using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using EligibilityGateway.Testing;

namespace MockCentralGovernment.Tests;

/// <summary>
/// The four documents of contracts/providers, and the check that a response (and the request it answered) is one
/// the contract declares: the operation exists, the status is listed, the media type is listed, and JSON bodies
/// conform to the declared schema.
/// </summary>
public sealed class ProviderContracts
{
    private readonly Dictionary<string, JsonElement> _documents = new(StringComparer.Ordinal);

    private ProviderContracts(string directory)
    {
        Directory = directory;
        foreach (var name in new[] { "dwp", "hmrc", "home-office", "control" })
        {
            using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, $"{name}.openapi.json")));
            _documents[name] = document.RootElement.Clone();
        }
    }

    public string Directory { get; }

    public static ProviderContracts Instance { get; } = new(Path.Combine(RepositoryRoot(), "contracts", "providers"));

    public JsonElement Document(string name) => _documents[name];

    /// <summary>The directory holding EligibilityGateway.sln, found by walking up from the test binaries.</summary>
    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "EligibilityGateway.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No EligibilityGateway.sln above {AppContext.BaseDirectory}.");
    }

    /// <summary>Which document describes <paramref name="absolutePath"/>, and the path relative to that document's server.</summary>
    public static (string Document, string Path) Locate(string absolutePath)
    {
        foreach (var provider in new[] { "dwp", "hmrc", "home-office" })
        {
            var prefix = "/" + provider;
            if (absolutePath.StartsWith(prefix + "/", StringComparison.Ordinal))
            {
                return (provider, absolutePath[prefix.Length..]);
            }
        }

        return ("control", absolutePath);
    }

    /// <summary>Every (method, full path template) the contracts declare, e.g. ("POST", "/dwp/v1/citizens/match").</summary>
    public IEnumerable<(string Method, string Path)> Operations()
    {
        foreach (var (name, document) in _documents)
        {
            var prefix = name == "control" ? "" : "/" + name;
            foreach (var path in document.GetProperty("paths").EnumerateObject())
            {
                foreach (var method in path.Value.EnumerateObject().Where(m => m.Name is "get" or "put" or "post" or "patch" or "delete"))
                {
                    yield return (method.Name.ToUpperInvariant(), prefix + path.Name);
                }
            }
        }
    }

    /// <returns>Every way the exchange departs from the contract; empty when it conforms.</returns>
    public IReadOnlyList<string> Check(string method, string absolutePath, string? requestMediaType, byte[]? requestBody, HttpStatusCode status, string? mediaType, byte[] body)
    {
        var (name, path) = Locate(absolutePath);
        var document = _documents[name];
        var where = $"{method} {absolutePath} → {(int)status}";
        var pathItem = document.GetProperty("paths").EnumerateObject().FirstOrDefault(p => TemplateMatches(p.Name, path));
        if (pathItem.Value.ValueKind != JsonValueKind.Object)
        {
            return [$"{where}: {name}.openapi.json declares no path matching {path}"];
        }

        if (!pathItem.Value.TryGetProperty(method.ToLowerInvariant(), out var operation))
        {
            return [$"{where}: {name}.openapi.json declares no {method} on {pathItem.Name}"];
        }

        if (!operation.GetProperty("responses").TryGetProperty(((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture), out var response))
        {
            return [$"{where}: status {(int)status} is not declared for {method} {pathItem.Name}"];
        }

        var failures = new List<string>();
        if (!response.TryGetProperty("content", out var content))
        {
            if (body.Length > 0)
            {
                failures.Add($"{where}: the contract declares no body but one was sent");
            }
        }
        else if (mediaType is null || !content.TryGetProperty(mediaType, out var declared))
        {
            failures.Add($"{where}: media type {mediaType ?? "(none)"} is not declared; declared: {string.Join(", ", content.EnumerateObject().Select(c => c.Name))}");
        }
        else if (IsJson(mediaType))
        {
            failures.AddRange(Validate(declared.GetProperty("schema"), body, document).Select(f => $"{where}: response {f}"));
        }

        // A request the mock accepted must itself be one the contract allows.
        if ((int)status is >= 200 and < 300 && requestBody is { Length: > 0 } && requestMediaType is not null)
        {
            if (!operation.TryGetProperty("requestBody", out var requestBodySpec)
                || !requestBodySpec.GetProperty("content").TryGetProperty(requestMediaType, out var requestDeclared))
            {
                failures.Add($"{where}: accepted a {requestMediaType} body the contract does not declare");
            }
            else
            {
                failures.AddRange(Validate(requestDeclared.GetProperty("schema"), requestBody, document).Select(f => $"{where}: request {f}"));
            }
        }

        return failures;
    }

    private static IReadOnlyList<string> Validate(JsonElement schema, byte[] body, JsonElement document)
    {
        JsonDocument parsed;
        try
        {
            parsed = JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            return [$"body is not JSON: {ex.Message}"];
        }

        using (parsed)
        {
            return JsonSchemaValidator.Validate(schema, parsed.RootElement, document);
        }
    }

    private static bool IsJson(string mediaType) =>
        mediaType == "application/json" || mediaType.EndsWith("+json", StringComparison.Ordinal);

    private static bool TemplateMatches(string template, string path)
    {
        var pattern = "^" + Regex.Replace(Regex.Escape(template), @"\\\{[^/]+?}", "[^/]+") + "$";
        return Regex.IsMatch(path, pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }
}

/// <summary>Fails the test that made a request whose response the contract does not allow.</summary>
public sealed class ContractViolationException(string message) : Exception(message);

/// <summary>
/// Sits in every test's <see cref="HttpClient"/> and checks each exchange against <see cref="ProviderContracts"/>,
/// so every response the tests see — fixtures, errors, injected faults — is proven to conform.
/// </summary>
public sealed class ContractCheckingHandler(ProviderContracts contracts) : DelegatingHandler(new SocketsHttpHandler())
{
    private int _checked;

    public int Checked => Volatile.Read(ref _checked);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        byte[]? requestBody = null;
        if (request.Content is not null)
        {
            requestBody = await request.Content.ReadAsByteArrayAsync(cancellationToken);
        }

        var response = await base.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var failures = contracts.Check(
            request.Method.Method,
            request.RequestUri!.AbsolutePath,
            request.Content?.Headers.ContentType?.MediaType,
            requestBody,
            response.StatusCode,
            response.Content.Headers.ContentType?.MediaType,
            body);
        Interlocked.Increment(ref _checked);
        if (failures.Count > 0)
        {
            response.Dispose();
            throw new ContractViolationException(string.Join(Environment.NewLine, failures));
        }

        return response;
    }
}
