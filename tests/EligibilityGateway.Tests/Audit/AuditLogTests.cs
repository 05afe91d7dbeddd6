using System.Diagnostics;
using EligibilityGateway.Audit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Xunit.Abstractions;

namespace EligibilityGateway.Tests.Audit;

/// <summary>
/// The group-commit writer over a real SQLite file: batching, durability, failure and recovery. What every store must do
/// (numbering, lock timeout and recovery) is in <see cref="AuditStoreContractTests"/>, run against SQLite and PostgreSQL.
/// </summary>
public sealed class AuditLogTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AppendAsync_WhenEntriesWaitForTheWriter_CommitsThemInTransactionsOfTheBatchSize()
    {
        await using var audit = await AuditTestLog.CreateAsync(settings: new Dictionary<string, string?> { ["Audit:BatchSize"] = "100" }, open: false);

        // Queued before the writer starts, so every batch finds a full queue: exactly 1,000 / 100 transactions.
        var appends = Enumerable.Range(1, 1000).Select(n => audit.Log.AppendAsync(AuditTestLog.Check(n)).AsTask()).ToArray();
        await audit.Log.OpenAsync(CancellationToken.None);
        var receipts = await Task.WhenAll(appends);

        audit.Log.TransactionsCommitted.Should().Be(10);
        audit.Log.RecordsCommitted.Should().Be(1000);
        receipts.Select(r => r.Sequence).Should().Equal(Enumerable.Range(1, 1000).Select(n => (long)n), "queue order is sequence order");
        receipts.Chunk(100).Should().AllSatisfy(batch => batch.Select(r => r.RecordedAt).Distinct().Should().ContainSingle("a batch is one transaction with one time"));
    }

    [Fact]
    public async Task AppendAsync_WhenTheDatabaseDirectoryIsDeleted_RefusesTheEntryAndRecoversOnceTheFileIsRestored()
    {
        var root = Directory.CreateTempSubdirectory("egw-audit-").FullName;
        var data = Path.Combine(root, "data");
        await using var audit = await AuditTestLog.CreateAsync(root, new Dictionary<string, string?> { ["Audit:Sqlite:Path"] = Path.Combine(data, "audit.db") });
        await audit.Log.AppendAsync(AuditTestLog.Check(1));
        var backup = Path.Combine(root, "backup");
        CopyDirectory(data, backup);
        Directory.Delete(data, recursive: true);

        // The writer's open connection would happily write into the deleted file; the entry must still be refused.
        await FluentActions.Awaiting(() => audit.Log.AppendAsync(AuditTestLog.Check(2)).AsTask())
            .Should().ThrowAsync<AuditUnavailableException>();
        await FluentActions.Awaiting(() => audit.Log.AppendAsync(AuditTestLog.Check(3)).AsTask())
            .Should().ThrowAsync<AuditUnavailableException>("the log does not quietly start a new, empty database");
        File.Exists(Path.Combine(data, "audit.db")).Should().BeFalse();

        Directory.Move(backup, data);
        var receipt = await audit.Log.AppendAsync(AuditTestLog.Check(4));

        receipt.Sequence.Should().Be(2);
        (await audit.ReadAllAsync()).Select(r => r.Entry.CaseReference).Should().Equal("FSM-2026-000001", "FSM-2026-000004");
    }

    [Fact]
    public async Task AppendedRecord_SurvivesClosingAndReopeningTheDatabase()
    {
        var directory = Directory.CreateTempSubdirectory("egw-audit-").FullName;
        var entry = AuditTestLog.Check(7);
        var first = await AuditTestLog.CreateAsync(directory);
        var receipt = await first.Log.AppendAsync(entry);
        await first.CloseAsync();

        await using var reopened = await AuditTestLog.CreateAsync(directory);
        var records = await reopened.ReadAllAsync();
        var next = await reopened.Log.AppendAsync(AuditTestLog.Check(8));

        records.Should().ContainSingle().Which.Should().BeEquivalentTo(new AuditRecord(receipt.Sequence, receipt.RecordedAt, AuditRecordFormat.CurrentVersion, entry));
        next.Sequence.Should().Be(receipt.Sequence + 1);
    }

    [Fact]
    public async Task DrainAsync_CommitsEveryEntryAcceptedBeforeShutdown()
    {
        await using var audit = await AuditTestLog.CreateAsync();
        var appends = Enumerable.Range(1, 3000).Select(n => audit.Log.AppendAsync(AuditTestLog.Check(n)).AsTask()).ToArray();

        await audit.Log.DrainAsync(CancellationToken.None);

        appends.Should().OnlyContain(t => t.IsCompletedSuccessfully, "drain returns only after the queue is empty");
        audit.Log.IsRunning.Should().BeFalse();
        (await audit.ReadAllAsync()).Should().HaveCount(3000);
    }

    [Fact]
    public async Task AppendAsync_AfterShutdown_IsRefusedAsShuttingDown()
    {
        await using var audit = await AuditTestLog.CreateAsync();
        await audit.Log.DrainAsync(CancellationToken.None);

        var failure = await FluentActions.Awaiting(() => audit.Log.AppendAsync(AuditTestLog.Check(1)).AsTask()).Should().ThrowAsync<AuditUnavailableException>();

        failure.Which.Reason.Should().Be(AuditUnavailableReason.ShuttingDown);
        (await audit.ReadAllAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task AppendAsync_WithAnIdentifierInPlaceOfTheSubjectReference_IsRefusedBeforeItTakesASequence()
    {
        await using var audit = await AuditTestLog.CreateAsync();

        var refuse = () => audit.Log.AppendAsync(AuditTestLog.Check(1) with { SubjectReference = "AB123456C" }).AsTask();

        await refuse.Should().ThrowAsync<ArgumentException>().WithMessage("*SubjectReference*");
        (await audit.Log.AppendAsync(AuditTestLog.Check(2))).Sequence.Should().Be(1);
    }

    [Fact]
    public async Task AppendAsync_ForAnAllowedCheckWithoutAnOutcome_IsRefusedNamingTheField()
    {
        await using var audit = await AuditTestLog.CreateAsync();

        var refuse = () => audit.Log.AppendAsync(AuditTestLog.Check(1) with { Outcome = null }).AsTask();

        await refuse.Should().ThrowAsync<ArgumentException>().WithMessage("*Outcome*");
    }

    [Fact]
    public async Task AppendAsync_ForOtherEventTypes_NeedsNoCheckFields()
    {
        await using var audit = await AuditTestLog.CreateAsync();

        var receipt = await audit.Log.AppendAsync(new AuditEntry { EventType = AuditEventTypes.TrustFrameworkLoaded, FrameworkId = "eligibility-gateway-sandbox", FrameworkVersion = "2026.11.1" });

        var record = (await audit.ReadAllAsync()).Should().ContainSingle().Subject;
        record.Sequence.Should().Be(receipt.Sequence);
        record.Entry.Should().BeEquivalentTo(new AuditEntry { EventType = "trust-framework.loaded", FrameworkId = "eligibility-gateway-sandbox", FrameworkVersion = "2026.11.1" });
    }

    [Fact]
    public async Task HealthCheck_IsHealthyWhileTheStoreCommitsAndUnhealthyWhileItCannot()
    {
        await using var audit = await AuditTestLog.CreateAsync();
        var check = new AuditStoreHealthCheck(audit.Log);

        (await check.CheckHealthAsync(new HealthCheckContext())).Status.Should().Be(HealthStatus.Healthy);
        using (audit.HoldWriteLock())
        {
            var blocked = await check.CheckHealthAsync(new HealthCheckContext());

            blocked.Status.Should().Be(HealthStatus.Unhealthy);
            blocked.Exception.Should().BeOfType<AuditUnavailableException>();
        }

        (await check.CheckHealthAsync(new HealthCheckContext())).Status.Should().Be(HealthStatus.Healthy, "the probe sees the store commit again");
    }

    [Fact]
    public async Task HealthCheck_BeforeStartAndAfterShutdown_IsUnhealthy()
    {
        await using var audit = await AuditTestLog.CreateAsync(open: false);
        var check = new AuditStoreHealthCheck(audit.Log);

        (await check.CheckHealthAsync(new HealthCheckContext())).Status.Should().Be(HealthStatus.Unhealthy);
        await audit.Log.OpenAsync(CancellationToken.None);
        (await check.CheckHealthAsync(new HealthCheckContext())).Status.Should().Be(HealthStatus.Healthy);
        await audit.Log.DrainAsync(CancellationToken.None);
        (await check.CheckHealthAsync(new HealthCheckContext())).Status.Should().Be(HealthStatus.Unhealthy);
    }

    [Fact]
    public async Task AppendAsync_From256ConcurrentWriters_CommitsEveryRecordGapFreeInLargeBatches()
    {
        // The target is at least 20,000 appends/s on SQLite; the benchmark measures it, this prints it.
        const int writers = 256;
        const int perWriter = 400;
        await using var audit = await AuditTestLog.CreateAsync();
        var entries = Enumerable.Range(1, writers * perWriter).Select(n => AuditTestLog.Check(n)).ToArray();
        await audit.Log.AppendAsync(AuditTestLog.Check(0));

        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < perWriter; i++)
            {
                await audit.Log.AppendAsync(entries[(w * perWriter) + i]);
            }
        })));
        clock.Stop();

        var total = writers * perWriter;
        output.WriteLine($"{total} appends from {writers} writers in {clock.Elapsed.TotalMilliseconds:F0} ms: {total / clock.Elapsed.TotalSeconds:F0} records/s, {audit.Log.TransactionsCommitted - 1} transactions");
        audit.Log.RecordsCommitted.Should().Be(total + 1);
        audit.Log.TransactionsCommitted.Should().BeLessThan(total / 10, "with 256 callers waiting, each commit carries many records");
        var records = await audit.ReadAllAsync();
        records.Select(r => r.Sequence).Should().Equal(Enumerable.Range(1, total + 1).Select(n => (long)n));
    }

    private static void CopyDirectory(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(destination, Path.GetFileName(file)));
        }
    }
}
