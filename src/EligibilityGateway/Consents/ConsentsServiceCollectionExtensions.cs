using EligibilityGateway.Consents;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

// In Microsoft.Extensions.DependencyInjection so that hosts find it without another using.
#pragma warning disable IDE0130
namespace Microsoft.Extensions.DependencyInjection;
#pragma warning restore IDE0130

/// <summary>Registers consent resources.</summary>
public static class ConsentsServiceCollectionExtensions
{
    private const string StorageDirectoryKey = "Storage:Directory";

    /// <summary>
    /// Adds the consent service, its store (SQLite, or PostgreSQL when <c>Consents:Postgres:ConnectionString</c> is set;
    /// opened and migrated on start) and the subject sealing. Needs
    /// <c>AddKeyRing()</c>, <c>AddTrustFramework()</c>, <c>AddAuditTrail()</c> and <c>AddAnswerCache()</c>. Options
    /// come from the <c>Consents</c> section, validated on start; the database defaults to
    /// <c>&lt;Storage:Directory&gt;/consents.db</c>. A host may register its own <c>IConsentStore</c> first.
    /// </summary>
    public static IServiceCollection AddConsents(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(ConsentService)))
        {
            return services;
        }

        services.AddOptions<ConsentOptions>()
            .Bind(configuration.GetSection(ConsentOptions.SectionName))
            .PostConfigure<IServiceProvider>((options, provider) => options.Sqlite.Path = ResolveDatabasePath(
                options.Sqlite.Path,
                configuration.GetValue<string>(StorageDirectoryKey),
                provider.GetService<IHostEnvironment>()?.ContentRootPath))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ConsentOptions>, ConsentOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IConsentStore>(provider =>
        {
            var options = provider.GetRequiredService<IOptions<ConsentOptions>>().Value;
            return options.Postgres.IsConfigured
                ? new PostgresConsentStore(options.Postgres.ConnectionString!, provider.GetRequiredService<TimeProvider>())
                : new SqliteConsentStore(options.Sqlite.Path!, options.Sqlite.BusyTimeout);
        });
        services.TryAddSingleton<ConsentSubjectProtector>();
        services.TryAddSingleton<ConsentService>();
        services.AddHostedService<ConsentStoreInitializer>();
        return services;
    }

    /// <summary>The configured path, or <c>consents.db</c> in the storage directory; relative paths against the content root.</summary>
    internal static string? ResolveDatabasePath(string? configuredPath, string? storageDirectory, string? contentRoot)
    {
        var path = !string.IsNullOrWhiteSpace(configuredPath) ? configuredPath
            : !string.IsNullOrWhiteSpace(storageDirectory) ? Path.Combine(storageDirectory, "consents.db")
            : null;
        return path is null ? null : Path.GetFullPath(path, contentRoot ?? Directory.GetCurrentDirectory());
    }
}
