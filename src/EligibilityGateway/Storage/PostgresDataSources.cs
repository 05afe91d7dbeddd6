using Npgsql;
using NpgsqlTypes;

namespace EligibilityGateway.Storage;

/// <summary>What the PostgreSQL stores share about connecting (README.md): the data source, its printable location, parameters.</summary>
internal static class PostgresDataSources
{
    /// <summary>
    /// A pooled data source for <paramref name="connectionString"/> whose every connection runs with
    /// <c>synchronous_commit=on</c> (a commit returns once flushed, however the server or the role is configured) and
    /// the further <paramref name="serverSettings"/> (<c>-c name=value</c> each).
    /// </summary>
    /// <param name="connectionString">A secret (it may hold a password): never logged, never in <paramref name="location"/>.</param>
    /// <param name="location">Host, port and database only, for logs and health reports.</param>
    public static NpgsqlDataSource Create(string connectionString, out string location, string serverSettings = "")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        builder.Options = $"{builder.Options} -c synchronous_commit=on {serverSettings}".Trim();
        location = $"postgresql://{builder.Host}:{builder.Port}/{builder.Database ?? builder.Username}";
        return NpgsqlDataSource.Create(builder.ConnectionString);
    }

    /// <summary>Whether <paramref name="connectionString"/> parses, without ever quoting it (it is a secret).</summary>
    public static bool IsValidConnectionString(string? connectionString)
    {
        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public static NpgsqlParameter Text(string? value) => new() { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)value ?? DBNull.Value };

    public static NpgsqlParameter Bytes(byte[]? value) => new() { NpgsqlDbType = NpgsqlDbType.Bytea, Value = (object?)value ?? DBNull.Value };

    /// <summary>A time as UTC ticks (<c>bigint</c>): exact to the 100 ns a <see cref="DateTimeOffset"/> holds, as in SQLite.</summary>
    public static NpgsqlParameter Ticks(DateTimeOffset? value) =>
        new() { NpgsqlDbType = NpgsqlDbType.Bigint, Value = value is { } instant ? instant.UtcTicks : DBNull.Value };

    /// <summary>A time stored as UTC ticks, or null.</summary>
    public static DateTimeOffset? Instant(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : new DateTimeOffset(reader.GetInt64(ordinal), TimeSpan.Zero);
}
