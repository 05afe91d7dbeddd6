namespace EligibilityGateway.BulkChecks;

/// <summary>Opens and migrates the bulk-check store when the host starts, so that a bad path or database stops start-up rather than the first job.</summary>
internal sealed class BulkCheckStoreInitializer(IBulkCheckStore store, ILogger<BulkCheckStoreInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken);
        if (store is PostgresBulkCheckStore postgres)
        {
            foreach (var migration in postgres.Applied)
            {
                Log.MigrationApplied(logger, migration.Version, migration.Description);
            }
        }

        Log.UsingStore(logger, store.Location);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
