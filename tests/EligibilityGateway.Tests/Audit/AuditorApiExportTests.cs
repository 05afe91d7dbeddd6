using System.Net;
using System.Text.Json;
using EligibilityGateway.Audit;
using EligibilityGateway.Tests.EndToEnd;

namespace EligibilityGateway.Tests.Audit;

/// <summary>
/// Runs the export tests alone: the memory bound is measured on the whole test process, so other test classes
/// allocating beside it would blur what the export itself holds.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AuditorApiExportCollection
{
    public const string Name = "auditor API export, alone";
}

/// <summary><c>GET /v1/audit/export</c> over a large log, through real HTTP: streamed, in flat memory, and parseable back.</summary>
[Collection(AuditorApiExportCollection.Name)]
public sealed class AuditorApiExportTests(AuditorApiExportTests.LargeLogFixture sandbox) : IClassFixture<AuditorApiExportTests.LargeLogFixture>
{
    private const int Appended = 50_000;

    /// <summary>The sandbox with <see cref="Appended"/> more records, appended at start through a second store on its database file.</summary>
    public sealed class LargeLogFixture : SandboxFixture, IAsyncLifetime
    {
        async Task IAsyncLifetime.InitializeAsync()
        {
            await InitializeAsync();
            await this.AppendDirectlyAsync(Appended, i => AuditTestLog.Check(i, councilId: i % 5 == 0 ? "camden" : "leeds"));
        }
    }

    [Fact]
    public async Task ExportJsonLines_StreamsTheWholeLogInFlatMemory_AndParsesBackInSequenceOrder()
    {
        var token = await sandbox.AuditorTokenAsync();
        using var response = await sandbox.AuditGetAsync(token, "/v1/audit/export?format=jsonl");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/x-ndjson");

        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        var peak = baseline;
        long bytes = 0;
        long previous = 0;
        var count = 0;
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            bytes += line.Length + 1;
            using var record = JsonDocument.Parse(line);
            var sequence = record.RootElement.GetProperty("sequence").GetInt64();
            sequence.Should().Be(previous + 1, "the export holds every record, oldest first");
            record.RootElement.GetProperty("hash").GetString().Should().MatchRegex("^[0-9a-f]{64}$");
            previous = sequence;
            if (++count % 5_000 == 0)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true));
            }
        }

        count.Should().BeGreaterThan(Appended);
        bytes.Should().BeGreaterThan(30_000_000, "the export is large enough that holding it would show");
        (peak - baseline).Should().BeLessThan(16_000_000, "rows go from the store's reader to the response one at a time; holding the export would take more than its 30 MB");
    }

    [Fact]
    public async Task ExportCsv_OfALeedsAuditor_HoldsOnlyLeedsRecords_WithTheColumnHeader()
    {
        var token = await sandbox.AuditorTokenAsync(AuditorApiClient.LeedsAuditor);
        using var response = await sandbox.AuditGetAsync(token, "/v1/audit/export?format=csv&eventType=check");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/csv");

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var header = (await reader.ReadLineAsync())!.Split(',');
        header.Should().Equal(AuditChain.AllColumns);
        var council = Array.IndexOf(header, "council_id");
        var eventType = Array.IndexOf(header, "event_type");
        var rows = 0;
        while (await reader.ReadLineAsync() is { } line)
        {
            // The leading columns hold no comma or quote, so a plain split reads them.
            var fields = line.Split(',');
            fields[council].Should().Be("leeds");
            fields[eventType].Should().Be("check");
            rows++;
        }

        rows.Should().Be(Appended - (Appended / 5), "every fifth appended record is Camden's");
    }
}
