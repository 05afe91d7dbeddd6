using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.IdentityModel.Tokens;
using Xunit.Abstractions;

namespace EligibilityGateway.Tests.Authorization.Replicas;

/// <summary>
/// Pushed authorization requests under light concurrency, with the pending requests in a real Redis (the shared
/// authorization state of several replicas): a burst of requests from a few concurrent councils' back ends must all be
/// stored, none refused as <c>temporarily_unavailable</c> because the store timed out.
/// </summary>
public sealed class ParUnderLoadTests(ITestOutputHelper output)
{
    private const int Requests = 1_200;
    private const int Concurrency = 16;
    private const string RedirectUri = "http://127.0.0.1:8080/demo/callback";

    [Fact]
    public async Task TwelveHundredPushesFromSixteenConcurrentClients_AreAllStoredInRedis_WithNo5xx()
    {
        await using var redis = await RedisServer.StartNewAsync();
        var directory = Directory.CreateTempSubdirectory("egw-par-load-").FullName;
        var app = TestGateway.Build(directory, new Dictionary<string, string?> { ["Cache:Redis"] = redis.Endpoint });
        try
        {
            var address = await app.StartOnFreePortAsync();
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Concurrency }) { BaseAddress = address };
            var form = ParForm(await CreateConsentAsync(http));

            var statuses = new ConcurrentDictionary<int, int>();
            var failures = new ConcurrentQueue<string>();
            var next = 0;
            var elapsed = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => Task.Run(async () =>
            {
                while (Interlocked.Increment(ref next) <= Requests)
                {
                    using var response = await PostAsClientAsync(http, "/connect/par", form);
                    statuses.AddOrUpdate((int)response.StatusCode, 1, (_, count) => count + 1);
                    if (response.StatusCode != HttpStatusCode.Created && failures.Count < 5)
                    {
                        failures.Enqueue($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    }
                }
            })));
            elapsed.Stop();

            var summary = string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"));
            output.WriteLine($"{Requests} pushes from {Concurrency} concurrent tasks in {elapsed.Elapsed.TotalSeconds:F1} s; statuses {summary}");
            statuses.Where(s => s.Key >= 500).Sum(s => s.Value).Should().Be(0, $"{summary}; first refusals: {string.Join(" | ", failures)}");
            statuses.GetValueOrDefault((int)HttpStatusCode.Created).Should().Be(Requests, summary);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static Dictionary<string, string> ParForm(string consentId) => new()
    {
        ["response_type"] = "code",
        ["client_id"] = "leeds",
        ["redirect_uri"] = RedirectUri,
        ["scope"] = "eligibility.check",
        ["code_challenge"] = Base64UrlEncoder.Encode(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
        ["code_challenge_method"] = "S256",
        ["authorization_details"] = $$"""[{"type":"eligibility-check","consent_id":"{{consentId}}"}]""",
    };

    private static async Task<string> CreateConsentAsync(HttpClient http)
    {
        using var tokenResponse = await PostAsClientAsync(http, "/connect/token", new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = "consents.manage" });
        var token = JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("access_token").GetString()!;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/consents")
        {
            Content = new StringContent("""{"scheme":"free-school-meals","caseReference":"FSM-PAR-LOAD"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var created = await http.SendAsync(request);
        var body = await created.Content.ReadAsStringAsync();
        created.StatusCode.Should().Be(HttpStatusCode.Created, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("consentId").GetString()!;
    }

    private static async Task<HttpResponseMessage> PostAsClientAsync(HttpClient http, string path, IDictionary<string, string> form)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("leeds:leeds-sandbox-secret")));
        return await http.SendAsync(request);
    }
}
