using System.Globalization;
using Npgsql;

namespace EligibilityGateway.Storage;

/// <summary>
/// What the consent and bulk-check stores in PostgreSQL share (README.md): a pooled data source from a secret
/// connection string (<see cref="PostgresDataSources.Create"/>), its printable <see cref="Location"/>, and their schema
/// brought up to date by the shared migration runner when the store is initialised.
/// </summary>
internal abstract class PostgresStore : IAsyncDisposable
{
    private readonly PostgresMigrations schema;

    /// <param name="connectionString">A secret (it may hold a password): never logged, never in <see cref="Location"/>.</param>
    /// <param name="schema">The store's migrations.</param>
    /// <param name="timeProvider">The clock, which also stamps each applied migration.</param>
    protected PostgresStore(string connectionString, PostgresMigrations schema, TimeProvider timeProvider)
    {
        DataSource = PostgresDataSources.Create(connectionString, out var location);
        Location = location;
        this.schema = schema;
        TimeProvider = timeProvider;
    }

    /// <summary>Host, port and database only: the connection string itself is a secret.</summary>
    public string Location { get; }

    /// <summary>The migrations this store applied when it was initialised (none when the database was up to date).</summary>
    public IReadOnlyList<PostgresMigration> Applied { get; private set; } = [];

    protected NpgsqlDataSource DataSource { get; }

    protected TimeProvider TimeProvider { get; }

    /// <summary>Applies the migrations the database lacks, under the schema's advisory lock.</summary>
    public async ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        Applied = await schema.MigrateAsync(connection, TimeProvider.GetUtcNow().UtcDateTime.ToString("O", CultureInfo.InvariantCulture), cancellationToken);
    }

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}
