using EligibilityGateway.Consents;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using Npgsql;
using OpenIddict.Abstractions;

namespace EligibilityGateway.Authorization.Server;

/// <summary>
/// OpenIddict's authorizations and tokens (authorization codes, refresh tokens, pushed requests, the entries of
/// consent-bound access tokens), in SQLite by default or PostgreSQL when <c>Authorization:Postgres:ConnectionString</c>
/// is set, so that any replica on the same database redeems what another issued. OpenIddict's application table is
/// mapped but stays empty: clients are the trust framework's (<see cref="FrameworkApplicationStore"/>).
/// </summary>
internal sealed class AuthorizationDbContext(DbContextOptions<AuthorizationDbContext> options) : DbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.UseOpenIddict();
    }
}

/// <summary>Where the authorization server keeps its state (<c>Authorization:Sqlite</c>, <c>Authorization:Postgres</c>).</summary>
internal sealed class AuthorizationStoreOptions
{
    public const string SectionName = "Authorization";

    public SqliteSection Sqlite { get; set; } = new();

    public PostgresSection Postgres { get; set; } = new();

    internal sealed class SqliteSection
    {
        /// <summary>Default: <c>authorization.db</c> in <c>Storage:Directory</c>.</summary>
        public string? Path { get; set; }
    }

    internal sealed class PostgresSection
    {
        public string? ConnectionString { get; set; }

        public bool IsConfigured => !string.IsNullOrWhiteSpace(ConnectionString);
    }
}

/// <summary>Fails start-up when there is nowhere to keep authorizations and tokens.</summary>
internal sealed class AuthorizationStoreOptionsValidator : IValidateOptions<AuthorizationStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthorizationStoreOptions options) =>
        options.Postgres.IsConfigured || !string.IsNullOrWhiteSpace(options.Sqlite.Path)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Authorization:Sqlite:Path is not set and there is no Storage:Directory to put authorization.db in (or set Authorization:Postgres:ConnectionString).");
}

/// <summary>
/// Creates the schema at start when the database has none. On PostgreSQL this runs under an advisory lock, so two
/// replicas starting together do not both create it; SQLite serialises writers itself.
/// </summary>
internal sealed class AuthorizationStoreInitializer(IServiceScopeFactory scopes, IOptions<AuthorizationStoreOptions> options) : IHostedService
{
    /// <summary>An arbitrary key, fixed so that every replica asks for the same lock.</summary>
    private const long SchemaLockKey = 0x45_47_57_41_55_54_48; // "EGWAUTH"

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<AuthorizationDbContext>();
        if (options.Value.Postgres.IsConfigured)
        {
            await using var connection = new NpgsqlConnection(options.Value.Postgres.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using (var command = new NpgsqlCommand("SELECT pg_advisory_lock(@key)", connection))
            {
                command.Parameters.AddWithValue("key", SchemaLockKey);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            try
            {
                await CreateSchemaAsync(context, cancellationToken);
            }
            finally
            {
                await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", connection);
                unlock.Parameters.AddWithValue("key", SchemaLockKey);
                await unlock.ExecuteNonQueryAsync(CancellationToken.None);
            }

            return;
        }

        // Created empty, 0600, before SQLite opens it: its -wal and -shm files then take that mode too.
        EligibilityGateway.Security.PrivateFiles.EnsureFile(options.Value.Sqlite.Path!);

        await CreateSchemaAsync(context, cancellationToken);
        await context.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static async Task CreateSchemaAsync(AuthorizationDbContext context, CancellationToken cancellationToken)
    {
        var creator = context.GetService<IRelationalDatabaseCreator>();
        if (!await creator.ExistsAsync(cancellationToken))
        {
            await creator.CreateAsync(cancellationToken);
        }

        if (!await creator.HasTablesAsync(cancellationToken))
        {
            await creator.CreateTablesAsync(cancellationToken);
        }
    }
}

/// <summary>
/// Deletes what can no longer be used — expired or redeemed tokens and authorizations without a valid token — every
/// <see cref="Interval"/>, keeping <see cref="Retention"/> of history (OpenIddict's own pruning, which
/// <c>OpenIddict.Quartz</c> would otherwise schedule).
/// </summary>
internal sealed class AuthorizationStorePruner(IServiceScopeFactory scopes, TimeProvider timeProvider, ILogger<AuthorizationStorePruner> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(15);

    /// <summary>Entries younger than this are kept, so a replayed code or refresh token is still recognised as one.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, timeProvider);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var threshold = timeProvider.GetUtcNow() - Retention;
                var tokens = await scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>().PruneAsync(threshold, stoppingToken);
                var authorizations = await scope.ServiceProvider.GetRequiredService<IOpenIddictAuthorizationManager>().PruneAsync(threshold, stoppingToken);
                Log.AuthorizationStorePruned(logger, tokens, authorizations);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.AuthorizationStorePruneFailed(logger, ex);
            }
        }
    }
}
