using System.Collections.Immutable;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using EligibilityGateway.Audit;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.Caching;
using EligibilityGateway.Tests.Infrastructure;
using EligibilityGateway.Tests.TrustFramework;
using EligibilityGateway.TrustFramework;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EligibilityGateway.Tests.Audit;

/// <summary>
/// Retention (README.md, "Retention") through the gateway: the background purge under the sandbox framework's
/// retention, <c>GET /v1/audit/verify</c> reporting the purged range, and the retention rule itself. The store
/// contract (<see cref="AuditStoreContractTests"/>) runs the purge on both stores.
/// </summary>
public sealed class AuditRetentionTests : IDisposable
{
    /// <summary>When test logs start: a fixed instant, so that retention arithmetic is exact.</summary>
    public static readonly DateTimeOffset Start = new(2026, 1, 5, 9, 0, 0, TimeSpan.Zero);

    private readonly string directory = Directory.CreateTempSubdirectory("egw-audit-retention-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(directory, recursive: true);
    }

    /// <summary>The sandbox framework with free-school-meals kept for <paramref name="fsm"/> and council-tax-support for <paramref name="cts"/>.</summary>
    internal static TrustFrameworkDefinition Framework(TimeSpan fsm, TimeSpan cts)
    {
        var sandbox = TrustFrameworkLoader.LoadFile(TrustFrameworkFiles.SandboxPath, "sandbox.yaml").Definition!;
        return sandbox with
        {
            Schemes = [.. sandbox.Schemes.Select(s => s with { AuditRetention = s.Id == "council-tax-support" ? cts : fsm })],
        };
    }

    [Fact]
    public void RetentionPolicy_KeepsRecordsOfUnknownSchemesAndEventsWithoutOneForTheLongestRetention()
    {
        var policy = new AuditRetentionPolicy(Framework(fsm: TimeSpan.FromDays(1), cts: TimeSpan.FromDays(30)));
        var now = Start.AddDays(10);

        policy.HasExpired("free-school-meals", Start, now).Should().BeTrue();
        policy.HasExpired("council-tax-support", Start, now).Should().BeFalse();
        policy.HasExpired("a-scheme-since-removed", Start, now).Should().BeFalse("a scheme the framework no longer names is kept for the longest retention");
        policy.HasExpired(null, Start, now).Should().BeFalse("token, framework and purge events have no scheme");
        policy.HasExpired(null, Start, Start.AddDays(30)).Should().BeTrue("expiry is reached exactly at recorded time + retention");
        policy.HasExpired("free-school-meals", Start, Start.AddDays(1).AddTicks(-1)).Should().BeFalse();
    }

    [Fact]
    public void RetentionPolicy_WithoutSchemes_PurgesNothing()
    {
        var policy = new AuditRetentionPolicy(Framework(TimeSpan.FromDays(1), TimeSpan.FromDays(1)) with { Schemes = ImmutableArray<Scheme>.Empty });

        policy.Longest.Should().BeNull();
        policy.HasExpired(null, Start, DateTimeOffset.MaxValue).Should().BeFalse();
    }

    [Theory]
    [InlineData("retention:purged:1-20", true, 20)]
    [InlineData("retention:purged:1-020", false, 0)]
    [InlineData("retention:purged:1-", false, 0)]
    [InlineData("retention:purged:2-20", false, 0)]
    [InlineData("retention:purged:1-20 ", false, 0)]
    [InlineData("retention:purged:1--5", false, 0)]
    public void TryReadPurge_AcceptsOnlyTheExactDeclaration(string rule, bool accepted, long through)
    {
        var values = new string?[AuditChain.CanonicalColumns.Length];
        values[3] = AuditEventTypes.AuditPurged;
        values[12] = rule;
        var row = new AuditChainRow(30, [.. values], null);

        AuditRetention.TryReadPurge(row, out var read).Should().Be(accepted);
        read.Should().Be(through);
        values[3] = AuditEventTypes.Check;
        AuditRetention.TryReadPurge(new AuditChainRow(30, [.. values], null), out _).Should().BeFalse("only a purge event declares a purge");
    }

    [Fact]
    public async Task Gateway_PurgesExpiredRecordsInTheBackground_AndVerifyReportsThePurgedRangeAsValid()
    {
        // A log written seven years ago, longer than the sandbox's six-year (P2190D) retention, closed with a checkpoint at 25.
        var old = await AuditTestLog.CreateAsync(directory, AuditTampering.CheckpointEveryTen, timeProvider: new FakeTimeProvider(new DateTimeOffset(2019, 11, 1, 9, 0, 0, TimeSpan.Zero)));
        for (var i = 1; i <= 25; i++)
        {
            await old.Log.AppendAsync(AuditTestLog.Check(i));
        }

        await old.CloseAsync();
        SqliteConnection.ClearAllPools();

        await using var app = TestGateway.Build(directory);
        using var client = new HttpClient { BaseAddress = await app.StartOnFreePortAsync() };
        var token = await SandboxClients.TokenAsync(client, client.BaseAddress!, "auditor", "audit.read");

        JsonElement verify = default;
        for (var attempt = 0; attempt < 100; attempt++)
        {
            verify = await GetJsonAsync(client, token, "/v1/audit/verify");
            if (verify.TryGetProperty("purged", out _))
            {
                break;
            }

            await Task.Delay(100);
        }

        verify.GetProperty("valid").GetBoolean().Should().BeTrue(verify.GetRawText());
        var purged = verify.GetProperty("purged");
        purged.GetProperty("from").GetInt64().Should().Be(1);
        purged.GetProperty("to").GetInt64().Should().Be(25);
        purged.GetProperty("anchorCheckpoint").GetInt64().Should().Be(25);
        var purgeEvent = purged.GetProperty("purgeEventSequence").GetInt64();
        purgeEvent.Should().BeGreaterThan(25);

        var events = await GetJsonAsync(client, token, "/v1/audit/events?eventType=audit.purged");
        var recorded = events.GetProperty("events").EnumerateArray().Should().ContainSingle().Subject;
        recorded.GetProperty("sequence").GetInt64().Should().Be(purgeEvent);
        recorded.GetProperty("decisionRule").GetString().Should().Be("retention:purged:1-25");
        recorded.GetProperty("frameworkId").GetString().Should().Be("eligibility-gateway-sandbox");
        var all = await GetJsonAsync(client, token, "/v1/audit/events?order=asc&limit=1");
        all.GetProperty("events")[0].GetProperty("sequence").GetInt64().Should().Be(26, "records 1 to 25 are gone");
    }

    [Fact]
    public async Task Gateway_WithRetentionDisabled_KeepsExpiredRecords()
    {
        var old = await AuditTestLog.CreateAsync(directory, AuditTampering.CheckpointEveryTen, timeProvider: new FakeTimeProvider(new DateTimeOffset(2019, 11, 1, 9, 0, 0, TimeSpan.Zero)));
        for (var i = 1; i <= 12; i++)
        {
            await old.Log.AppendAsync(AuditTestLog.Check(i));
        }

        await old.CloseAsync();
        SqliteConnection.ClearAllPools();

        var clock = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var app = TestGateway.Build(directory, new Dictionary<string, string?> { ["Audit:Retention:Enabled"] = "false" }, b => b.Services.AddSingleton<TimeProvider>(clock));
        using var client = new HttpClient { BaseAddress = await app.StartOnFreePortAsync() };

        // Enabled, the retention service purges at start and then every interval (at most a week); disabled, it ends at once.
        await app.Services.GetServices<IHostedService>().OfType<AuditRetentionService>().Single().ExecuteTask!.WaitAsync(TimeSpan.FromSeconds(10));
        clock.Advance(TimeSpan.FromDays(7));
        var token = await SandboxClients.TokenAsync(client, client.BaseAddress!, "auditor", "audit.read");

        var verify = await GetJsonAsync(client, token, "/v1/audit/verify");
        verify.GetProperty("valid").GetBoolean().Should().BeTrue();
        verify.TryGetProperty("purged", out _).Should().BeFalse();
        (await app.Services.GetRequiredService<IAuditStore>().ReadAsync(1, 1, CancellationToken.None)).Should().ContainSingle().Which.Sequence.Should().Be(1);
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient client, string token, string pathAndQuery)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(pathAndQuery, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, text);
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}
