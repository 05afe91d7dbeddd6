using Microsoft.Extensions.Options;

namespace EligibilityGateway.Consents;

/// <summary>Configuration section <c>Consents</c>.</summary>
internal sealed class ConsentOptions
{
    public const string SectionName = "Consents";

    /// <summary>The SQLite store (the default store).</summary>
    public SqliteConsentOptions Sqlite { get; set; } = new();

    /// <summary>The PostgreSQL store, used instead of SQLite when its connection string is set.</summary>
    public PostgresConsentOptions Postgres { get; set; } = new();
}

/// <summary>Configuration section <c>Consents:Postgres</c>.</summary>
internal sealed class PostgresConsentOptions
{
    /// <summary>An Npgsql connection string; when set, consents live in PostgreSQL and SQLite is not used.</summary>
    /// <value>Default unset. A secret (it may hold a password): it is never logged, and errors about it never quote it.</value>
    public string? ConnectionString { get; set; }

    /// <summary>Whether a connection string is set.</summary>
    public bool IsConfigured => !string.IsNullOrWhiteSpace(ConnectionString);
}

/// <summary>Configuration section <c>Consents:Sqlite</c>.</summary>
internal sealed class SqliteConsentOptions
{
    /// <summary>The database file.</summary>
    /// <value>Default <c>&lt;Storage:Directory&gt;/consents.db</c>. A relative path is resolved against the content root.</value>
    public string? Path { get; set; }

    /// <summary>How long a statement waits for another connection's write lock before it fails.</summary>
    /// <value>Default 5 seconds; 1 to 60 seconds, rounded up to whole seconds (the driver's granularity).</value>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>Range rules for <see cref="ConsentOptions"/>, checked at start-up.</summary>
internal sealed class ConsentOptionsValidator : IValidateOptions<ConsentOptions>
{
    public ValidateOptionsResult Validate(string? name, ConsentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.Postgres.IsConfigured)
        {
            if (!Storage.PostgresDataSources.IsValidConnectionString(options.Postgres.ConnectionString))
            {
                failures.Add("Consents:Postgres:ConnectionString is not a valid PostgreSQL connection string.");
            }
        }
        else if (string.IsNullOrWhiteSpace(options.Sqlite.Path))
        {
            failures.Add("Consents:Sqlite:Path is not set and there is no Storage:Directory to put consents.db in.");
        }

        if (options.Sqlite.BusyTimeout < TimeSpan.FromSeconds(1) || options.Sqlite.BusyTimeout > TimeSpan.FromSeconds(60))
        {
            failures.Add("Consents:Sqlite:BusyTimeout must be from 00:00:01 to 00:01:00.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Opens and migrates the consent store when the host starts, so that a bad path stops start-up rather than the first request.</summary>
internal sealed class ConsentStoreInitializer(IConsentStore store, ILogger<ConsentStoreInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken);
        switch (store)
        {
            case SqliteConsentStore sqlite:
                Log.UsingSqlite(logger, sqlite.Location);
                break;
            case PostgresConsentStore postgres:
                foreach (var migration in postgres.Applied)
                {
                    Log.MigrationApplied(logger, migration.Version, migration.Description);
                }

                Log.UsingPostgres(logger, postgres.Location);
                break;
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
