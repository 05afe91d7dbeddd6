using EligibilityGateway.Audit;
using EligibilityGateway.Security;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

// In Microsoft.Extensions.DependencyInjection so that hosts find it without another using.
#pragma warning disable IDE0130
namespace Microsoft.Extensions.DependencyInjection;
#pragma warning restore IDE0130

/// <summary>Registers the audit trail feature.</summary>
public static class AuditServiceCollectionExtensions
{
    private const string StorageDirectoryKey = "Storage:Directory";

    /// <summary>
    /// Adds the audit log (<c>IAuditLog</c>, a hosted service that opens the store on start and drains on stop), the
    /// SQLite store (or the PostgreSQL store when <c>Audit:Postgres:ConnectionString</c> is set), subject references (needs the key ring: <c>AddKeyRing()</c>), metrics and the
    /// <c>audit-store</c> readiness check, and the checkpoint issuer (signs with the key ring's audit key). Options come from the <c>Audit</c> section, validated on start; the
    /// database defaults to <c>&lt;Storage:Directory&gt;/audit.db</c>. Calling it again changes nothing: one process
    /// has one writer.
    /// </summary>
    public static IServiceCollection AddAuditTrail(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(AuditLog)))
        {
            // A second hosted registration would open the same log twice; the host and a test may both add it.
            return services;
        }

        services.AddOptions<AuditOptions>()
            .Bind(configuration.GetSection(AuditOptions.SectionName))
            .PostConfigure<IServiceProvider>((options, provider) => options.Sqlite.Path = ResolveDatabasePath(
                options.Sqlite.Path,
                configuration.GetValue<string>(StorageDirectoryKey),
                provider.GetService<IHostEnvironment>()?.ContentRootPath))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AuditOptions>, AuditOptionsValidator>());

        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<AuditMetrics>();
        services.TryAddSingleton(provider => new SubjectReferences(provider.GetRequiredService<KeyRing>()));
        services.TryAddSingleton(provider => new AuditCheckpointIssuer(
            provider.GetRequiredService<KeyRing>().AuditSigningKey,
            provider.GetRequiredService<IOptions<AuditOptions>>().Value.Checkpoints,
            provider.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<IAuditStore>(provider =>
        {
            var options = provider.GetRequiredService<IOptions<AuditOptions>>().Value;
            if (options.Postgres.IsConfigured)
            {
                return new PostgresAuditStore(
                    options.Postgres.ConnectionString!,
                    options.Postgres.LockTimeout,
                    provider.GetRequiredService<TimeProvider>(),
                    provider.GetRequiredService<ILoggerFactory>().CreateLogger<PostgresAuditStore>(),
                    provider.GetRequiredService<AuditCheckpointIssuer>());
            }

            return new SqliteAuditStore(
                options.Sqlite.Path!,
                options.Sqlite.BusyTimeout,
                provider.GetRequiredService<TimeProvider>(),
                provider.GetRequiredService<ILoggerFactory>().CreateLogger<SqliteAuditStore>(),
                provider.GetRequiredService<AuditCheckpointIssuer>());
        });
        services.TryAddSingleton<AuditLog>();
        services.TryAddSingleton<IAuditLog>(provider => provider.GetRequiredService<AuditLog>());
        services.TryAddSingleton<AuditPurger>();
        services.AddHostedService(provider => provider.GetRequiredService<AuditLog>());
        services.AddHealthChecks().AddCheck<AuditStoreHealthCheck>(AuditStoreHealthCheck.Name, tags: [EligibilityGateway.GatewayApplication.ReadyTag]);
        return services;
    }

    /// <summary>
    /// Adds the retention purge that runs in the background (<c>Audit:Retention</c>, README.md "Retention"). Needs
    /// <c>AddAuditTrail</c> and <c>AddTrustFramework</c>: the periods are each scheme's <c>audit_retention</c>.
    /// </summary>
    public static IServiceCollection AddAuditRetention(this IServiceCollection services)
    {
        services.AddHostedService<AuditRetentionService>();
        return services;
    }

    /// <summary>The configured path, or <c>audit.db</c> in the storage directory; relative paths against the content root.</summary>
    internal static string? ResolveDatabasePath(string? configuredPath, string? storageDirectory, string? contentRoot)
    {
        var path = !string.IsNullOrWhiteSpace(configuredPath) ? configuredPath
            : !string.IsNullOrWhiteSpace(storageDirectory) ? Path.Combine(storageDirectory, "audit.db")
            : null;
        return path is null ? null : Path.GetFullPath(path, contentRoot ?? Directory.GetCurrentDirectory());
    }
}
