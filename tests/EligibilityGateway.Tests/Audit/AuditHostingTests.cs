using EligibilityGateway.Tests.Infrastructure;
using System.Net;
using EligibilityGateway.Audit;
using EligibilityGateway.Security;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.Deployment;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Tests.Audit;

/// <summary>The audit trail inside the running gateway: start-up, readiness over HTTP, and drain on stop.</summary>
public sealed class AuditHostingTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("egw-audit-host-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task Gateway_WithTheAuditTrail_IsReadyAndKeepsItsRecordsInTheStorageDirectory()
    {
        await using var app = BuildGateway();
        var baseAddress = await app.StartOnFreePortAsync();
        using var client = new HttpClient { BaseAddress = baseAddress };

        using var ready = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
        var report = await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(c => c.Tags.Contains(GatewayApplication.ReadyTag));
        var receipt = await app.Services.GetRequiredService<IAuditLog>().AppendAsync(AuditTestLog.Check(1));

        ready.StatusCode.Should().Be(HttpStatusCode.OK);
        report.Entries.Should().ContainKey(AuditStoreHealthCheck.Name).WhoseValue.Status.Should().Be(HealthStatus.Healthy);
        receipt.Sequence.Should().Be(1);
        app.Services.GetRequiredService<IAuditStore>().Location.Should().Be(Path.Combine(directory, "audit.db"));
    }

    [Fact]
    public async Task Gateway_WhenTheAuditTrailIsAddedTwice_StartsOneWriter()
    {
        await using var app = BuildGateway(extra: null, addTwice: true);

        await app.StartOnFreePortAsync();

        app.Services.GetServices<IHostedService>().OfType<AuditLog>().Should().ContainSingle();
        (await app.Services.GetRequiredService<IAuditLog>().AppendAsync(AuditTestLog.Check(1))).Sequence.Should().Be(1);
    }

    [Fact]
    public async Task Gateway_WhenAnotherProcessHoldsTheAuditDatabaseLocked_ReportsNotReady()
    {
        await using var app = BuildGateway();
        var baseAddress = await app.StartOnFreePortAsync();
        using var client = new HttpClient { BaseAddress = baseAddress };
        using var locker = new SqliteConnection($"Data Source={Path.Combine(directory, "audit.db")};Pooling=False");
        locker.Open();
        using (var command = locker.CreateCommand())
        {
            command.CommandText = "BEGIN EXCLUSIVE;";
            command.ExecuteNonQuery();
        }

        using var response = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
    }

    [Fact]
    public async Task Gateway_OnStop_DrainsAppendsStillWaitingForTheWriter()
    {
        var app = BuildGateway();
        await app.StartOnFreePortAsync();
        var log = app.Services.GetRequiredService<IAuditLog>();
        var appends = Enumerable.Range(1, 2000).Select(n => log.AppendAsync(AuditTestLog.Check(n)).AsTask()).ToArray();

        await app.StopAsync();
        await app.DisposeAsync();

        appends.Should().OnlyContain(t => t.IsCompletedSuccessfully);
        await using var reopened = await AuditTestLog.CreateAsync(Path.Combine(directory, "reopen"), new Dictionary<string, string?> { ["Audit:Sqlite:Path"] = Path.Combine(directory, "audit.db") });
        (await reopened.ReadAllAsync()).Should().HaveCount(2000);
    }

    [Fact]
    public async Task Gateway_WithoutAPathOrStorageDirectory_FailsOptionsValidationOnStart()
    {
        await using var app = BuildGateway(storageDirectory: null);

        var failure = await app.Invoking(a => a.StartOnFreePortAsync()).Should().ThrowAsync<OptionsValidationException>();

        failure.Which.Failures.Should().Contain(f => f.Contains("Audit:Sqlite:Path", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Audit:BatchSize", "0", "Audit:BatchSize")]
    [InlineData("Audit:QueueCapacity", "10", "Audit:QueueCapacity")]
    [InlineData("Audit:Sqlite:BusyTimeout", "00:00:00.500", "Audit:Sqlite:BusyTimeout")]
    public async Task Gateway_WithAnOutOfRangeSetting_FailsOptionsValidationNamingIt(string key, string value, string named)
    {
        await using var app = BuildGateway(extra: new Dictionary<string, string?> { [key] = value });

        var failure = await app.Invoking(a => a.StartOnFreePortAsync()).Should().ThrowAsync<OptionsValidationException>();

        failure.Which.Failures.Should().Contain(f => f.Contains(named, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("/data/audit.db", "/srv", "/content", "/data/audit.db")]
    [InlineData(null, "/srv", "/content", "/srv/audit.db")]
    [InlineData(null, "state", "/content", "/content/state/audit.db")]
    [InlineData("logs/audit.db", null, "/content", "/content/logs/audit.db")]
    [InlineData(null, null, "/content", null)]
    public void ResolveDatabasePath_PrefersTheConfiguredPathThenTheStorageDirectory(string? configured, string? storage, string contentRoot, string? expected)
    {
        AuditServiceCollectionExtensions.ResolveDatabasePath(configured, storage, contentRoot).Should().Be(expected);
    }

    private WebApplication BuildGateway(string? storageDirectory = "", IDictionary<string, string?>? extra = null, bool addTwice = false) =>
        TestGateway.Build(
            directory,
            new Dictionary<string, string?>
            {
                ["Storage:Directory"] = storageDirectory == "" ? directory : storageDirectory,
                ["Audit:Sqlite:BusyTimeout"] = "00:00:01",
            }.Concat(extra ?? new Dictionary<string, string?>()).GroupBy(s => s.Key).ToDictionary(g => g.Key, g => g.Last().Value),
            builder =>
            {
                // The gateway adds the audit trail once already; a host that adds it again must not get two writers.
                if (addTwice)
                {
                    builder.Services.AddAuditTrail(builder.Configuration);
                }
            });
}
