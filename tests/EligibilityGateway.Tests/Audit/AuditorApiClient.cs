using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Audit;
using EligibilityGateway.Security;
using EligibilityGateway.Tests.EndToEnd;
using Microsoft.Extensions.Logging.Abstractions;

namespace EligibilityGateway.Tests.Audit;

/// <summary>Calls the auditor API of a sandbox as a given client, through real HTTP.</summary>
internal static class AuditorApiClient
{
    public const string Auditor = "auditor";
    public const string LeedsAuditor = "leeds-auditor";

    public static Task<string> AuditorTokenAsync(this SandboxFixture sandbox, string client = Auditor) => sandbox.TokenAsync(client, "audit.read");

    public static async Task<HttpResponseMessage> AuditGetAsync(this SandboxFixture sandbox, string token, string pathAndQuery)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, sandbox.Gateway(pathAndQuery));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await sandbox.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    public static async Task<HttpResponseMessage> SubjectSearchAsync(this SandboxFixture sandbox, string token, string body, string query = "")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, sandbox.Gateway("/v1/audit/subject-search" + query))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await sandbox.Http.SendAsync(request);
    }

    /// <summary>
    /// Appends <paramref name="count"/> records to the sandbox's audit database through a second store on the same
    /// file, as a second gateway process would (the store numbers and chains under the write lock, so one chain
    /// results), signing checkpoints with the sandbox's audit key every 1,000 records.
    /// </summary>
    public static async Task AppendDirectlyAsync(this SandboxFixture sandbox, int count, Func<int, AuditEntry> entry)
    {
        var keys = KeyRing.Load(new KeyRingOptions { Directory = Path.Combine(sandbox.DataDirectory, "keys") });
        var issuer = new AuditCheckpointIssuer(keys.AuditSigningKey, new AuditCheckpointOptions { EveryRecords = 1000 }, TimeProvider.System);
        await using var store = new SqliteAuditStore(sandbox.AuditDatabase, TimeSpan.FromSeconds(30), TimeProvider.System, NullLogger.Instance, issuer);
        await store.InitializeAsync(CancellationToken.None);
        foreach (var chunk in Enumerable.Range(1, count).Chunk(5_000))
        {
            await store.AppendBatchAsync([.. chunk.Select(entry)], TimeProvider.System.GetUtcNow(), CancellationToken.None);
        }
    }

    /// <summary>A page of <c>GET /v1/audit/events</c>; fails the test unless it is 200.</summary>
    public static async Task<(List<JsonElement> Events, string? Next)> EventsAsync(this SandboxFixture sandbox, string token, string query = "")
    {
        using var response = await sandbox.AuditGetAsync(token, "/v1/audit/events" + query);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(System.Net.HttpStatusCode.OK, text);
        return ReadPage(text);
    }

    public static (List<JsonElement> Events, string? Next) ReadPage(string json)
    {
        using var document = JsonDocument.Parse(json);
        var events = document.RootElement.GetProperty("events").EnumerateArray().Select(e => e.Clone()).ToList();
        var next = document.RootElement.GetProperty("next");
        return (events, next.ValueKind == JsonValueKind.Null ? null : next.GetString());
    }

    /// <summary>Every page of a walk, following <c>next</c> until it is null.</summary>
    public static async Task<List<JsonElement>> AllEventsAsync(this SandboxFixture sandbox, string token, string query)
    {
        var all = new List<JsonElement>();
        var separator = query.Length == 0 ? "?" : "&";
        var (events, next) = await sandbox.EventsAsync(token, query);
        all.AddRange(events);
        while (next is not null)
        {
            (events, next) = await sandbox.EventsAsync(token, query + separator + "cursor=" + Uri.EscapeDataString(next));
            all.AddRange(events);
        }

        return all;
    }

    public static string? Text(this JsonElement element, string name) =>
        element.GetProperty(name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    public static long Sequence(this JsonElement element) => element.GetProperty("sequence").GetInt64();

    /// <summary>The problem document's <c>errors</c> member names.</summary>
    public static async Task<IReadOnlyList<string>> ErrorFieldsAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. document.RootElement.GetProperty("errors").EnumerateObject().Select(p => p.Name)];
    }

    public static async Task<string?> ProblemTypeAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.TryGetProperty("type", out var type) ? type.GetString() : null;
    }
}
