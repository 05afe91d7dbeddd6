using EligibilityGateway.BulkChecks;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

// In Microsoft.Extensions.DependencyInjection so that hosts find it without another using.
#pragma warning disable IDE0130
namespace Microsoft.Extensions.DependencyInjection;
#pragma warning restore IDE0130

/// <summary>Registers bulk checks.</summary>
public static class BulkCheckServiceCollectionExtensions
{
    private const string StorageDirectoryKey = "Storage:Directory";

    /// <summary>
    /// Adds the bulk-check store (SQLite, <c>&lt;Storage:Directory&gt;/bulk-checks.db</c> by default, or PostgreSQL when
    /// <c>BulkChecks:Postgres:ConnectionString</c> is set; opened and migrated on start), the lane and the processor
    /// that runs jobs on this replica. Needs <c>AddChecks()</c> and what it needs.
    /// </summary>
    public static IServiceCollection AddBulkChecks(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<BulkCheckOptions>()
            .Bind(configuration.GetSection(BulkCheckOptions.SectionName))
            .PostConfigure<IServiceProvider>((options, provider) =>
            {
                var storage = configuration.GetValue<string>(StorageDirectoryKey);
                var path = !string.IsNullOrWhiteSpace(options.SqlitePath) ? options.SqlitePath
                    : !string.IsNullOrWhiteSpace(storage) ? Path.Combine(storage, "bulk-checks.db")
                    : null;
                options.SqlitePath = path is null ? null : Path.GetFullPath(path, provider.GetService<IHostEnvironment>()?.ContentRootPath ?? Directory.GetCurrentDirectory());
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BulkCheckOptions>, BulkCheckOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IBulkCheckStore>(provider =>
        {
            var options = provider.GetRequiredService<IOptions<BulkCheckOptions>>().Value;
            return options.Postgres.IsConfigured
                ? new PostgresBulkCheckStore(options.Postgres.ConnectionString!, provider.GetRequiredService<TimeProvider>())
                : new SqliteBulkCheckStore(options.SqlitePath!);
        });

        // Before the processor: hosted services start in order, so the schema is in place before the first lease.
        services.AddHostedService<BulkCheckStoreInitializer>();
        services.TryAddSingleton<BulkSubjectProtector>();
        services.TryAddSingleton<BulkLane>();
        services.TryAddSingleton<BulkCheckProcessor>();
        services.AddHostedService(provider => provider.GetRequiredService<BulkCheckProcessor>());
        return services;
    }
}
