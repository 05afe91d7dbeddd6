using Microsoft.Extensions.Options;

namespace EligibilityGateway.BulkChecks;

/// <summary>The <c>BulkChecks</c> section (README.md, "Configuration"); validated on start.</summary>
internal sealed class BulkCheckOptions
{
    public const string SectionName = "BulkChecks";

    /// <summary>The job database in SQLite (the default store).</summary>
    /// <value>Default <c>&lt;Storage:Directory&gt;/bulk-checks.db</c>. Not used when <see cref="Postgres"/> is configured.</value>
    public string? SqlitePath { get; set; }

    /// <summary>The PostgreSQL store, used instead of SQLite when its connection string is set.</summary>
    public PostgresBulkCheckOptions Postgres { get; set; } = new();

    /// <summary>How long a finished (completed or cancelled) job's results are kept before they are purged.</summary>
    /// <value>Default 7 days; 1 minute to 90 days.</value>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long a job's lease lasts without renewal; the holder renews it every third of this.</summary>
    /// <value>Default 30 s; 1 s to 10 min. A replica that dies leaves its jobs to others after at most this.</value>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often an idle replica looks for jobs to take (a job submitted to this replica starts at once).</summary>
    /// <value>Default 1 s; 50 ms to 1 min.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Jobs one replica runs at once; they share the lane.</summary>
    /// <value>Default 4; 1 to 64.</value>
    public int MaxJobsPerReplica { get; set; } = 4;

    /// <summary>Items of one job in progress at once in this replica (waiting for the rate limit, the lane or the audit log).</summary>
    /// <value>Default 512; 1 to 1024. Items waiting for their audit record's commit hold a place here, not a lane slot, so
    /// this must be well above the lane's share for the lane to stay full while the log commits.</value>
    public int ItemsInFlightPerJob { get; set; } = 512;

    /// <summary>
    /// Slots of each provider's <c>max_concurrency</c> that bulk work leaves free on top of those single checks are
    /// using, so that single checks arriving together find a slot at once (README.md, "Lanes").
    /// </summary>
    /// <value>Default 2; 0 to 1000. Bulk work always keeps one slot, however small the provider's limit.</value>
    public int ReservedProviderSlots { get; set; } = 2;

    /// <summary>How often the purge of expired jobs runs; the first run is at start.</summary>
    /// <value>Default 1 hour; 1 s to 1 day.</value>
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>Configuration section <c>BulkChecks:Postgres</c>.</summary>
internal sealed class PostgresBulkCheckOptions
{
    /// <summary>An Npgsql connection string; when set, jobs live in PostgreSQL, shared by every replica, and SQLite is not used.</summary>
    /// <value>Default unset. A secret (it may hold a password): it is never logged, and errors about it never quote it.</value>
    public string? ConnectionString { get; set; }

    /// <summary>Whether a connection string is set.</summary>
    public bool IsConfigured => !string.IsNullOrWhiteSpace(ConnectionString);
}

/// <summary>Range rules for <see cref="BulkCheckOptions"/>, and the one rule across sections: jobs shared in PostgreSQL need the audit log shared too.</summary>
internal sealed class BulkCheckOptionsValidator(IOptions<Audit.AuditOptions> audit) : IValidateOptions<BulkCheckOptions>
{
    public ValidateOptionsResult Validate(string? name, BulkCheckOptions options)
    {
        var errors = new List<string>();
        if (options.Postgres.IsConfigured)
        {
            if (!Storage.PostgresDataSources.IsValidConnectionString(options.Postgres.ConnectionString))
            {
                errors.Add("BulkChecks:Postgres:ConnectionString is not a valid PostgreSQL connection string.");
            }

            // A replica taking over a job settles the items the dead one claimed from their audit records (README.md,
            // "Resumption"): with an audit log per replica it would not find them and would record them twice.
            if (!audit.Value.Postgres.IsConfigured)
            {
                errors.Add("BulkChecks:Postgres:ConnectionString needs Audit:Postgres:ConnectionString: a replica resuming another's job looks its items up in the shared audit log.");
            }
        }
        else if (string.IsNullOrWhiteSpace(options.SqlitePath))
        {
            errors.Add("BulkChecks:SqlitePath or Storage:Directory must be set.");
        }

        Range(options.Retention, TimeSpan.FromMinutes(1), TimeSpan.FromDays(90), "Retention", errors);
        Range(options.LeaseDuration, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10), "LeaseDuration", errors);
        Range(options.PollInterval, TimeSpan.FromMilliseconds(50), TimeSpan.FromMinutes(1), "PollInterval", errors);
        Range(options.PurgeInterval, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1), "PurgeInterval", errors);
        if (options.MaxJobsPerReplica is < 1 or > 64)
        {
            errors.Add("BulkChecks:MaxJobsPerReplica must be between 1 and 64.");
        }

        if (options.ItemsInFlightPerJob is < 1 or > 1024)
        {
            errors.Add("BulkChecks:ItemsInFlightPerJob must be between 1 and 1024.");
        }

        if (options.ReservedProviderSlots is < 0 or > 1000)
        {
            errors.Add("BulkChecks:ReservedProviderSlots must be between 0 and 1000.");
        }

        return errors.Count > 0 ? ValidateOptionsResult.Fail(errors) : ValidateOptionsResult.Success;

        static void Range(TimeSpan value, TimeSpan min, TimeSpan max, string key, List<string> errors)
        {
            if (value < min || value > max)
            {
                errors.Add($"BulkChecks:{key} must be between {min} and {max}.");
            }
        }
    }
}
