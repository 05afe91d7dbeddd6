using Npgsql;

namespace EligibilityGateway.Storage;

/// <summary>One numbered step of a PostgreSQL schema: applied once, in order, and recorded with its description.</summary>
internal sealed record PostgresMigration(int Version, string Description, string Sql);

/// <summary>
/// A store's PostgreSQL schema as an ordered list of migrations, applied at start-up and recorded in the store's own
/// table (<c>version, description, applied_at</c>). Migrations are only ever appended (README.md): a step that has
/// shipped is never edited, so every database at version N has the same schema.
/// </summary>
/// <param name="store">The store's name in error messages (<c>audit</c>, <c>consent</c>).</param>
/// <param name="table">The table that records the applied versions.</param>
/// <param name="lockKey">The advisory lock that serialises migrations of this schema between processes.</param>
/// <param name="migrations">The steps, versions 1, 2, … in order.</param>
internal sealed class PostgresMigrations(string store, string table, long lockKey, IReadOnlyList<PostgresMigration> migrations)
{
    public IReadOnlyList<PostgresMigration> Steps { get; } = Checked(migrations);

    public int LatestVersion => Steps[^1].Version;

    /// <summary>
    /// Brings the database to <paramref name="targetVersion"/> (default the latest) in one transaction that first
    /// takes a transaction-scoped advisory lock, so replicas starting together queue: the first applies the steps, the
    /// others then find them recorded and apply nothing. PostgreSQL's DDL is transactional, so a step that fails leaves
    /// the database at the version it had. Returns the versions applied.
    /// </summary>
    /// <param name="appliedAt">What to record as the time of application (each store keeps its own time format).</param>
    /// <exception cref="InvalidOperationException">The database was written by a newer gateway.</exception>
    public async Task<IReadOnlyList<PostgresMigration>> MigrateAsync(NpgsqlConnection connection, string appliedAt, CancellationToken cancellationToken, int? targetVersion = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var target = targetVersion ?? LatestVersion;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1);", connection))
        {
            lockCommand.Parameters.Add(new NpgsqlParameter<long> { TypedValue = lockKey });
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        // Under the lock: no other process is between this check and the commit.
        await ExecuteAsync(connection, $"""
            CREATE TABLE IF NOT EXISTS {table} (
                version     integer PRIMARY KEY,
                description text NOT NULL,
                applied_at  text NOT NULL
            );
            """, cancellationToken);

        var current = await CurrentVersionAsync(connection, cancellationToken);
        if (current > LatestVersion)
        {
            throw new InvalidOperationException(
                $"The {store} database is at schema version {current}; this gateway knows versions up to {LatestVersion}. Run a gateway at least as new as the one that wrote it.");
        }

        var applied = new List<PostgresMigration>();
        foreach (var step in Steps.Where(m => m.Version > current && m.Version <= target))
        {
            await ExecuteAsync(connection, step.Sql, cancellationToken);
            await using var record = new NpgsqlCommand($"INSERT INTO {table} (version, description, applied_at) VALUES ($1, $2, $3);", connection);
            record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = step.Version });
            record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = step.Description });
            record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = appliedAt });
            await record.ExecuteNonQueryAsync(cancellationToken);
            applied.Add(step);
        }

        await transaction.CommitAsync(cancellationToken);
        return applied;
    }

    /// <summary>The highest version recorded, 0 for a database without the table's rows.</summary>
    public async Task<int> CurrentVersionAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var read = new NpgsqlCommand($"SELECT COALESCE(MAX(version), 0) FROM {table};", connection);
        return (int)(await read.ExecuteScalarAsync(cancellationToken))!;
    }

    private static IReadOnlyList<PostgresMigration> Checked(IReadOnlyList<PostgresMigration> migrations)
    {
        ArgumentNullException.ThrowIfNull(migrations);
        for (var i = 0; i < migrations.Count; i++)
        {
            if (migrations[i].Version != i + 1)
            {
                throw new ArgumentException($"Migration {i + 1} has version {migrations[i].Version}: versions are 1, 2, … in order.", nameof(migrations));
            }
        }

        return migrations.Count > 0 ? migrations : throw new ArgumentException("A schema has at least one migration.", nameof(migrations));
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
