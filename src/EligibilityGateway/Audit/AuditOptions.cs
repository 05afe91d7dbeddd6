using Microsoft.Extensions.Options;

namespace EligibilityGateway.Audit;

/// <summary>Configuration section <c>Audit</c>.</summary>
internal sealed class AuditOptions
{
    public const string SectionName = "Audit";

    /// <summary>The SQLite store (the default store).</summary>
    public SqliteAuditOptions Sqlite { get; set; } = new();

    /// <summary>The PostgreSQL store, used instead of SQLite when its connection string is set.</summary>
    public PostgresAuditOptions Postgres { get; set; } = new();

    /// <summary>The most entries one transaction takes from the queue.</summary>
    /// <value>Default 1,024; 1 to 10,000. Larger batches amortise the commit's fsync over more records.</value>
    public int BatchSize { get; set; } = 1024;

    /// <summary>How many entries may wait for the writer before <see cref="IAuditLog.AppendAsync"/> callers wait to enqueue.</summary>
    /// <value>Default 16,384; from <see cref="BatchSize"/> to 1,000,000. Bounded so that a stalled store slows callers instead of exhausting memory.</value>
    public int QueueCapacity { get; set; } = 16_384;

    /// <summary>When signed checkpoints are issued (section <c>Audit:Checkpoints</c>).</summary>
    public AuditCheckpointOptions Checkpoints { get; set; } = new();

    /// <summary>The retention purge (section <c>Audit:Retention</c>; the periods come from the trust framework).</summary>
    public AuditRetentionOptions Retention { get; set; } = new();
}

/// <summary>Configuration section <c>Audit:Retention</c>: when the gateway purges records past their scheme's <c>audit_retention</c>.</summary>
internal sealed class AuditRetentionOptions
{
    /// <summary>Whether the gateway purges by itself.</summary>
    /// <value>Default true. Off, records are kept until <c>egw audit purge</c> is run.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the purge runs.</summary>
    /// <value>Default 1 day; 1 minute to 7 days. The first run is at start. Retention periods are years, so a day's lateness does not matter.</value>
    public TimeSpan Interval { get; set; } = TimeSpan.FromDays(1);
}

/// <summary>Configuration section <c>Audit:Checkpoints</c>: a checkpoint is issued after whichever comes first, and on shutdown.</summary>
internal sealed class AuditCheckpointOptions
{
    /// <summary>Records after which the next checkpoint is signed.</summary>
    /// <value>Default 1,000; 1 to 1,000,000. A checkpoint costs one ES256 signature and one row.</value>
    public int EveryRecords { get; set; } = 1000;

    /// <summary>The longest an appended record waits for a checkpoint.</summary>
    /// <value>Default 1 minute; 1 second to 1 day. Bounds how much of the log's tail an attacker with database access
    /// could rewrite between checkpoints without the signature noticing.</value>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Configuration section <c>Audit:Sqlite</c>.</summary>
internal sealed class SqliteAuditOptions
{
    /// <summary>The database file.</summary>
    /// <value>Default <c>&lt;Storage:Directory&gt;/audit.db</c>. A relative path is resolved against the content root.</value>
    public string? Path { get; set; }

    /// <summary>How long a commit waits for another connection's lock before the batch fails.</summary>
    /// <value>Default 5 seconds; 1 to 60 seconds, rounded up to whole seconds (the driver's granularity).</value>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>Configuration section <c>Audit:Postgres</c>.</summary>
internal sealed class PostgresAuditOptions
{
    /// <summary>An Npgsql connection string; when set, the audit log lives in PostgreSQL and SQLite is not used.</summary>
    /// <value>Default unset. A secret (it may hold a password): it is never logged, and errors about it never quote it.</value>
    public string? ConnectionString { get; set; }

    /// <summary>How long a batch waits for another replica's lock on the chain's head before it fails.</summary>
    /// <value>Default 5 seconds; 1 to 60 seconds.</value>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether a connection string is set.</summary>
    public bool IsConfigured => !string.IsNullOrWhiteSpace(ConnectionString);
}

/// <summary>Cross-field and range rules for <see cref="AuditOptions"/>, checked at start-up.</summary>
internal sealed class AuditOptionsValidator : IValidateOptions<AuditOptions>
{
    public ValidateOptionsResult Validate(string? name, AuditOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.Postgres.IsConfigured)
        {
            if (!Storage.PostgresDataSources.IsValidConnectionString(options.Postgres.ConnectionString))
            {
                failures.Add("Audit:Postgres:ConnectionString is not a valid PostgreSQL connection string.");
            }

            if (options.Postgres.LockTimeout < TimeSpan.FromSeconds(1) || options.Postgres.LockTimeout > TimeSpan.FromSeconds(60))
            {
                failures.Add("Audit:Postgres:LockTimeout must be from 00:00:01 to 00:01:00.");
            }
        }
        else if (string.IsNullOrWhiteSpace(options.Sqlite.Path))
        {
            failures.Add("Audit:Sqlite:Path is not set and there is no Storage:Directory to put audit.db in.");
        }

        if (options.Sqlite.BusyTimeout < TimeSpan.FromSeconds(1) || options.Sqlite.BusyTimeout > TimeSpan.FromSeconds(60))
        {
            failures.Add("Audit:Sqlite:BusyTimeout must be from 00:00:01 to 00:01:00.");
        }

        if (options.BatchSize is < 1 or > 10_000)
        {
            failures.Add("Audit:BatchSize must be from 1 to 10000.");
        }

        if (options.QueueCapacity < options.BatchSize || options.QueueCapacity > 1_000_000)
        {
            failures.Add("Audit:QueueCapacity must be at least Audit:BatchSize and at most 1000000.");
        }

        if (options.Checkpoints.EveryRecords is < 1 or > 1_000_000)
        {
            failures.Add("Audit:Checkpoints:EveryRecords must be from 1 to 1000000.");
        }

        if (options.Checkpoints.Interval < TimeSpan.FromSeconds(1) || options.Checkpoints.Interval > TimeSpan.FromDays(1))
        {
            failures.Add("Audit:Checkpoints:Interval must be from 00:00:01 to 1.00:00:00.");
        }

        if (options.Retention.Interval < TimeSpan.FromMinutes(1) || options.Retention.Interval > TimeSpan.FromDays(7))
        {
            failures.Add("Audit:Retention:Interval must be from 00:01:00 to 7.00:00:00.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
