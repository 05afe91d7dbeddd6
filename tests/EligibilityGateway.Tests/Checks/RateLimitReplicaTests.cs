using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Checks;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.EndToEnd;
using EligibilityGateway.Tests.Infrastructure;
using EligibilityGateway.Tests.TrustFramework;
using Microsoft.AspNetCore.Builder;
using MockCentralGovernment;
using StackExchange.Redis;

namespace EligibilityGateway.Tests.Checks;

/// <summary>
/// Two gateway replicas on one real Redis, with Leeds limited to four free-school-meals checks an hour: checks spread
/// over both replicas meet the limit at four in total, not four each, and the shared counter names no person.
/// </summary>
public sealed class RateLimitReplicaTests : IAsyncLifetime
{
    private const int Limit = 4;
    private readonly string directory = Directory.CreateTempSubdirectory("egw-rate-replicas-").FullName;
    private RedisServer redis = null!;
    private WebApplication mock = null!;
    private WebApplication first = null!;
    private WebApplication second = null!;
    private Uri firstAddress = null!;
    private Uri secondAddress = null!;

    public async Task InitializeAsync()
    {
        redis = await RedisServer.StartNewAsync();
        mock = MockGovernmentApplication.Build([], b => b.Configuration["MockCentralGovernment:Population:Size"] = "0");
        var mockAddress = await mock.StartOnFreePortAsync();
        var framework = await LimitedFrameworkAsync();
        (first, firstAddress) = await StartReplicaAsync("first", framework, mockAddress);
        (second, secondAddress) = await StartReplicaAsync("second", framework, mockAddress);
    }

    public async Task DisposeAsync()
    {
        foreach (var app in new[] { first, second, mock })
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        await redis.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task ChecksSpreadOverTwoReplicas_MeetTheCouncilsLimitOnce_NotOncePerReplica()
    {
        using var http = new HttpClient();
        var tokens = new[] { await TokenAsync(http, firstAddress), await TokenAsync(http, secondAddress) };
        var addresses = new[] { firstAddress, secondAddress };
        for (var i = 0; i < Limit; i++)
        {
            using var allowed = await CheckAsync(http, addresses[i % 2], tokens[i % 2], $"SHARED-LIMIT-{i}");
            allowed.StatusCode.Should().Be(HttpStatusCode.OK, $"check {i + 1} is within the limit of {Limit}");
        }

        foreach (var replica in new[] { 0, 1 })
        {
            using var refused = await CheckAsync(http, addresses[replica], tokens[replica], $"SHARED-LIMIT-OVER-{replica}");
            refused.StatusCode.Should().Be(HttpStatusCode.TooManyRequests, $"replica {replica + 1} counts the checks the other answered");
            refused.Headers.RetryAfter!.Delta.Should().BeGreaterThan(TimeSpan.Zero).And.BeLessThanOrEqualTo(TimeSpan.FromHours(1));
        }

        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        var keys = connection.GetServer(redis.Endpoint).Keys(pattern: CheckRateLimiter.KeyPrefix + "*").Select(k => k.ToString()).ToList();
        keys.Should().Equal($"{CheckRateLimiter.KeyPrefix}leeds:free-school-meals:{Limit}:3600000");
        ((long)await connection.GetDatabase().StringGetAsync(keys[0])).Should().Be(Limit + 2, "every check asked is counted once, on whichever replica");
        (await connection.GetDatabase().KeyTimeToLiveAsync(keys[0])).Should().BeGreaterThan(TimeSpan.Zero, "the window ends");
    }

    private async Task<string> LimitedFrameworkAsync()
    {
        var source = await File.ReadAllTextAsync(TrustFrameworkFiles.SandboxPath);
        const string leedsPermission = "  - council: leeds\n    scheme: free-school-meals\n";
        source.Should().Contain(leedsPermission);
        var path = Path.Combine(directory, "rate-limited.yaml");
        await File.WriteAllTextAsync(path, source.Replace(leedsPermission, leedsPermission + $"    rate_limit: {{ limit: {Limit}, window: PT1H }}\n", StringComparison.Ordinal));
        return path;
    }

    private async Task<(WebApplication, Uri)> StartReplicaAsync(string name, string framework, Uri mockAddress)
    {
        var app = TestGateway.Build(Directory.CreateDirectory(Path.Combine(directory, name)).FullName, new Dictionary<string, string?>
        {
            ["TrustFramework:Path"] = framework,
            ["Cache:Redis"] = redis.Endpoint,
            // A loaded test machine can stretch one Redis command past the default 250 ms, and that check would then be
            // counted in the replica's memory instead; Redis failing is the fallback's case, not this test's.
            ["Cache:OperationTimeout"] = "00:00:02",
            ["Keys:Directory"] = Path.Combine(directory, "keys"),
        }, mock: mockAddress);
        return (app, await app.StartWithRedisConnectedAsync());
    }

    private static async Task<string> TokenAsync(HttpClient http, Uri address)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, "/connect/token"))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = "eligibility.check" }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("leeds:leeds-sandbox-secret")));
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        response.IsSuccessStatusCode.Should().BeTrue(body);
        return JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
    }

    private static async Task<HttpResponseMessage> CheckAsync(HttpClient http, Uri address, string token, string caseReference)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, "/v1/checks"))
        {
            Content = new StringContent(Subjects.Check(Subjects.Smith, caseReference: caseReference), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.SendAsync(request);
    }
}
