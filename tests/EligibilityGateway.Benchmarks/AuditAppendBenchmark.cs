using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Audit;
using EligibilityGateway.Checks;
using EligibilityGateway.Security;
using EligibilityGateway.Testing;
using Microsoft.Data.Sqlite;

namespace EligibilityGateway.Benchmarks;

/// <summary>
/// Audit append throughput (target: at least 20,000 records/s on SQLite) through the gateway's own writer, composed
/// as <c>AddAuditTrail</c> composes it: bounded queue, group commit, the hash chain, signed checkpoints every 1,000
/// records, <c>synchronous=FULL</c> (SQLite) or <c>synchronous_commit=on</c> (PostgreSQL). Many producers each append
/// one allowed-check record at a time and wait for its commit, as request handlers do. After the measured run the
/// chain is verified (not timed), so a fast but broken writer cannot pass.
/// </summary>
/// <remarks>
/// <c>audit-append [--store sqlite|postgres|both] [--records N] [--producers P]</c>; prints one JSON object per store,
/// <c>{"auditAppendSqlite": {...}}</c>, on standard output, progress on standard error. PostgreSQL runs in a throwaway
/// cluster started like the tests' (<see cref="PostgresServer"/>); without PostgreSQL 15 installed, its object says
/// <c>skipped</c> and why.
/// </remarks>
internal static class AuditAppendBenchmark
{
    private const int WarmUpRecords = 5_000;

    public static async Task<int> RunAsync(string[] args)
    {
        var store = Option(args, "--store") ?? "both";
        var records = int.Parse(Option(args, "--records") ?? "100000", CultureInfo.InvariantCulture);
        var producers = int.Parse(Option(args, "--producers") ?? "256", CultureInfo.InvariantCulture);
        if (store is not ("sqlite" or "postgres" or "both") || records < 1 || producers < 1)
        {
            await Console.Error.WriteLineAsync("usage: audit-append [--store sqlite|postgres|both] [--records N] [--producers P]");
            return 2;
        }

        if (store is "sqlite" or "both")
        {
            var directory = Directory.CreateTempSubdirectory("egw-bench-audit-").FullName;
            try
            {
                Print("auditAppendSqlite", await MeasureAsync(directory, new Dictionary<string, string?>(), records, producers));
            }
            finally
            {
                SqliteConnection.ClearAllPools();
                Directory.Delete(directory, recursive: true);
            }
        }

        if (store is "postgres" or "both")
        {
            PostgresServer server;
            try
            {
                server = await PostgresServer.StartNewAsync();
            }
            catch (InvalidOperationException ex)
            {
                Print("auditAppendPostgres", new Dictionary<string, object> { ["skipped"] = ex.Message });
                return 0;
            }

            await using (server)
            {
                var directory = Directory.CreateTempSubdirectory("egw-bench-audit-").FullName;
                try
                {
                    var settings = new Dictionary<string, string?> { ["Audit:Postgres:ConnectionString"] = await server.CreateDatabaseAsync("bench") };
                    Print("auditAppendPostgres", await MeasureAsync(directory, settings, records, producers));
                }
                finally
                {
                    Directory.Delete(directory, recursive: true);
                }
            }
        }

        return 0;
    }

    private static async Task<Dictionary<string, object>> MeasureAsync(string directory, Dictionary<string, string?> storeSettings, int records, int producers)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Storage:Directory"] = directory,
                ["Keys:Directory"] = Path.Combine(directory, "keys"),
                ["Keys:GenerateIfMissing"] = "true",
            })
            .AddInMemoryCollection(storeSettings)
            .Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning).AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
        services.AddSingleton<IConfiguration>(configuration);
        services.AddKeyRing();
        services.AddAuditTrail(configuration);
        await using var provider = services.BuildServiceProvider();
        var log = provider.GetRequiredService<AuditLog>();
        await log.OpenAsync(CancellationToken.None);
        var entries = Entries(new SubjectReferences(provider.GetRequiredService<KeyRing>()), 4096);

        await Console.Error.WriteLineAsync($"Audit append on {log.Store.Kind}: {WarmUpRecords} records warm-up, then {records} records from {producers} producers");
        await AppendAsync(log, entries, WarmUpRecords, producers);
        var transactionsBefore = log.TransactionsCommitted;
        var clock = Stopwatch.StartNew();
        await AppendAsync(log, entries, records, producers);
        clock.Stop();
        var transactions = log.TransactionsCommitted - transactionsBefore;

        var jwks = Encoding.UTF8.GetString(AuditKeySet.Serialize(provider.GetRequiredService<KeyRing>().PublicAuditKeys()));
        var verification = await AuditVerifier.VerifyAsync(log.Store, new AuditCheckpointVerifier(jwks), CancellationToken.None);
        var checkpoints = (await log.Store.ReadCheckpointsAsync(CancellationToken.None)).Count;
        if (verification is not AuditVerification.Valid { Count: var count } || count != WarmUpRecords + records)
        {
            throw new InvalidOperationException("The benchmark's audit chain did not verify: " + AuditVerification.Describe(verification));
        }

        return new Dictionary<string, object>
        {
            ["recordsPerSecond"] = Math.Round(records / clock.Elapsed.TotalSeconds),
            ["records"] = records,
            ["producers"] = producers,
            ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 3),
            ["transactions"] = transactions,
            ["recordsPerTransaction"] = Math.Round((double)records / Math.Max(1, transactions), 1),
            ["checkpoints"] = checkpoints,
            ["chainVerified"] = true,
        };
    }

    /// <summary>Each producer appends one record at a time and awaits its commit, like a request handler before it answers.</summary>
    private static async Task AppendAsync(AuditLog log, AuditEntry[] entries, int records, int producers)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, producers).Select(_ => Task.Run(async () =>
        {
            int n;
            while ((n = Interlocked.Increment(ref next)) < records)
            {
                // A new check id for every record, made as the check API makes it (UUIDv7, time-ordered).
                await log.AppendAsync(entries[n % entries.Length] with { CheckId = Guid.CreateVersion7(TimeProvider.System.GetUtcNow()).ToString() });
            }
        })));
    }

    /// <summary>
    /// Allowed checks as the check API records them: provider calls, a subject reference (4,096 people, so the subject
    /// index sees random keys as it does in production), released fields; the check id is set per append.
    /// </summary>
    private static AuditEntry[] Entries(SubjectReferences subjects, int count) =>
    [
        .. Enumerable.Range(0, count).Select(i => new AuditEntry
        {
            EventType = AuditEventTypes.Check,
            CouncilId = i % 3 == 0 ? "camden" : "leeds",
            ClientId = i % 3 == 0 ? "camden" : "leeds",
            SchemeId = i % 2 == 0 ? "free-school-meals" : "council-tax-support",
            Purpose = "dpv:ServiceProvision",
            LawfulBasis = i % 4 == 0 ? "consent" : "public-task",
            ConsentId = i % 4 == 0 ? $"cns_{i:D8}" : null,
            CaseReference = $"FSM-2026-{i:D6}",
            Decision = AuditDecisions.Allow,
            Rule = "permission:leeds/free-school-meals/public-task",
            Outcome = (Outcome)(i % 4),
            ServedFrom = i % 2 == 0 ? AuditServedFrom.Live : AuditServedFrom.Cache,
            ProviderCalls = i % 2 == 0
                ? [new ProviderCall("dwp", ProviderCallStatus.Eligible, TimeSpan.FromTicks(123_456 + i), null), new ProviderCall("hmrc", ProviderCallStatus.NotFound, TimeSpan.FromTicks(98_765 + i), null)]
                : ImmutableArray<ProviderCall>.Empty,
            TraceId = ActivityTraceId.CreateRandom().ToHexString(),
            SubjectReference = subjects.Compute(new Subject(IdentifierKind.NationalInsuranceNumber, $"QQ{i % 1_000_000:D6}C", "Bench", new DateOnly(1980, 1, 1).AddDays(i % 9000))),
            CheckedAt = new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero).AddMilliseconds(i),
            ValidUntil = new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero).AddMilliseconds(i),
            ConfirmedBy = i % 2 == 0 ? ImmutableArray.Create("dwp") : null,
            FrameworkId = "eligibility-gateway-sandbox",
            FrameworkVersion = "2026.11.1",
        }),
    ];

    private static void Print(string name, Dictionary<string, object> result) =>
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, Dictionary<string, object>> { [name] = result }));

    private static string? Option(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }
}
