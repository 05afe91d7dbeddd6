using System.Globalization;
using EligibilityGateway.Security;
using Microsoft.Data.Sqlite;

namespace EligibilityGateway.Storage;

/// <summary>
/// One SQLite file of a store that several connections (and gateway processes on one machine) share: pooled
/// connections with a busy timeout, WAL so readers run beside a writer, <c>synchronous=FULL</c> on every connection so a
/// commit the caller has seen is on disk, and the schema version in <c>PRAGMA user_version</c> (README.md).
/// </summary>
internal sealed class SqliteDatabase
{
    private readonly string store;
    private readonly string connectionString;

    /// <param name="store">The store's name in error messages (<c>consent</c>, <c>bulk-check</c>).</param>
    /// <param name="path">The database file; created owner-only by <see cref="Initialize"/>.</param>
    /// <param name="busyTimeout">How long a statement waits for another connection's write lock; whole seconds (the driver's granularity).</param>
    public SqliteDatabase(string store, string path, TimeSpan busyTimeout)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        this.store = store;
        Path = System.IO.Path.GetFullPath(path);
        connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = (int)Math.Ceiling(busyTimeout.TotalSeconds),
        }.ToString();
    }

    /// <summary>The database file, as an absolute path.</summary>
    public string Path { get; }

    /// <summary>
    /// Creates the file owner-only if it is missing, switches it to WAL and applies <paramref name="schema"/> (which
    /// sets <c>user_version</c> to <paramref name="schemaVersion"/>) when the file is older. A file from a newer gateway
    /// is refused rather than written to.
    /// </summary>
    public void Initialize(int schemaVersion, string schema)
    {
        PrivateFiles.EnsureFile(Path);
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode = WAL;";
        var mode = (string?)command.ExecuteScalar();
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"The {store} database '{Path}' would not switch to WAL (journal mode '{mode}').");
        }

        command.CommandText = "PRAGMA user_version;";
        var version = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (version > schemaVersion)
        {
            throw new InvalidOperationException($"The {store} database '{Path}' has schema version {version}; this gateway knows up to {schemaVersion}.");
        }

        if (version < schemaVersion)
        {
            using var transaction = connection.BeginTransaction();
            command.Transaction = transaction;
            command.CommandText = schema;
            command.ExecuteNonQuery();
            transaction.Commit();
        }
    }

    /// <summary>An open pooled connection with <c>synchronous=FULL</c> (a per-connection setting).</summary>
    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA synchronous = FULL;";
            pragma.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }
}
