using System.Collections.Immutable;
using System.Diagnostics;
using EligibilityGateway.Audit;
using EligibilityGateway.Checks;
using EligibilityGateway.Security;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace EligibilityGateway.Tests.Audit;

/// <summary>
/// An audit log composed the way <c>AddAuditTrail</c> composes it, over a real SQLite file in a directory of its
/// own, with a one-second busy timeout so that lock tests finish quickly.
/// </summary>
internal sealed class AuditTestLog : IAsyncDisposable
{
    private readonly ServiceProvider services;

    private AuditTestLog(string directory, ServiceProvider services)
    {
        Directory = directory;
        this.services = services;
        Log = services.GetRequiredService<AuditLog>();
    }

    /// <summary>The gateway's storage directory, deleted with the log.</summary>
    public string Directory { get; }

    /// <summary>The database file the store writes (by default <c>audit.db</c> in <see cref="Directory"/>).</summary>
    public string DatabasePath => Store.Location;

    public AuditLog Log { get; }

    public IAuditStore Store => Log.Store;

    public IServiceProvider Services => services;

    /// <summary>Composes a log; opens it unless <paramref name="open"/> is false.</summary>
    /// <param name="timeProvider">The clock that stamps records; the system clock unless a test needs records from another time.</param>
    public static async Task<AuditTestLog> CreateAsync(string? directory = null, IDictionary<string, string?>? settings = null, bool open = true, TimeProvider? timeProvider = null)
    {
        directory ??= System.IO.Directory.CreateTempSubdirectory("egw-audit-").FullName;
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Storage:Directory"] = directory,
                ["Keys:Directory"] = Path.Combine(directory, "keys"),
                ["Keys:GenerateIfMissing"] = "true",
                ["Audit:Sqlite:BusyTimeout"] = "00:00:01",
            })
            .AddInMemoryCollection(settings ?? new Dictionary<string, string?>())
            .Build();
        var collection = new ServiceCollection();
        collection.AddLogging();
        collection.AddSingleton<IConfiguration>(configuration);
        if (timeProvider is not null)
        {
            collection.AddSingleton(timeProvider);
        }

        collection.AddKeyRing();
        collection.AddAuditTrail(configuration);
        var log = new AuditTestLog(directory, collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true }));
        if (open)
        {
            await log.Log.OpenAsync(CancellationToken.None);
        }

        return log;
    }

    /// <summary>Every committed record, in sequence order.</summary>
    public async Task<IReadOnlyList<AuditRecord>> ReadAllAsync() =>
        await Store.ReadAsync(1, int.MaxValue, CancellationToken.None);

    /// <summary>A second connection that holds the write lock until disposed, as another process might.</summary>
    public SqliteConnection HoldWriteLock()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "BEGIN EXCLUSIVE;";
        command.ExecuteNonQuery();
        return connection;
    }

    /// <summary>Disposes the log (draining it) without deleting the directory, so the file can be reopened.</summary>
    public ValueTask CloseAsync() => services.DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        await services.DisposeAsync();
        SqliteConnection.ClearAllPools();
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }

    private static readonly byte[] SubjectKey = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

    /// <summary>A fully populated, allowed check entry, different for every <paramref name="number"/>.</summary>
    public static AuditEntry Check(int number, string councilId = "leeds", string? checkId = null) => new()
    {
        EventType = AuditEventTypes.Check,
        CouncilId = councilId,
        ClientId = councilId + "-client",
        SchemeId = "free-school-meals",
        Purpose = "dpv:ServiceProvision",
        LawfulBasis = "public-task",
        ConsentId = null,
        CaseReference = $"FSM-2026-{number:D6}",
        Decision = AuditDecisions.Allow,
        Rule = $"permission:{councilId}/free-school-meals/public-task",
        Outcome = (Outcome)(number % 4),
        ServedFrom = number % 2 == 0 ? AuditServedFrom.Live : AuditServedFrom.Cache,
        ProviderCalls =
        [
            new ProviderCall("dwp", ProviderCallStatus.Eligible, TimeSpan.FromTicks(123_4567 + number), null),
            new ProviderCall("hmrc", ProviderCallStatus.Failed, TimeSpan.FromMilliseconds(250), "timeout after 250 ms"),
        ],
        TraceId = ActivityTraceId.CreateRandom().ToHexString(),
        SubjectReference = new SubjectReferences(SubjectKey).Compute(new Subject(IdentifierKind.NationalInsuranceNumber, "AB123456C", "Smith", new DateOnly(1990, 1, 1).AddDays(number))),
        CheckId = checkId ?? $"chk_{number:D8}_{Guid.NewGuid():N}",
        CheckedAt = new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero).AddTicks(number * 1_234_567L),
        ValidUntil = new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero).AddTicks(number),
        ConfirmedBy = number % 3 == 0 ? null : ImmutableArray.Create("dwp"),
        FrameworkId = "eligibility-gateway-sandbox",
        FrameworkVersion = "2026.11.1",
    };
}
