using EligibilityGateway.TrustFramework;
using Microsoft.Extensions.DependencyInjection.Extensions;

// In Microsoft.Extensions.DependencyInjection so that hosts find it without another using.
#pragma warning disable IDE0130
namespace Microsoft.Extensions.DependencyInjection;
#pragma warning restore IDE0130

/// <summary>Registers the trust framework feature.</summary>
public static class TrustFrameworkServiceCollectionExtensions
{
    /// <summary>
    /// Adds the trust framework monitor (loaded when the host starts, reloaded when the file changes), the policy
    /// engine, reload metrics and a readiness check. Options come from the <c>TrustFramework</c> section:
    /// <c>Path</c> (required) and <c>PollInterval</c>.
    /// </summary>
    public static IServiceCollection AddTrustFramework(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<TrustFrameworkOptions>()
            .Bind(configuration.GetSection(TrustFrameworkOptions.SectionName))
            .Validate(o => !string.IsNullOrWhiteSpace(o.Path), "TrustFramework:Path is required: the trust framework file to load.")
            .Validate(o => o.PollInterval >= TimeSpan.FromMilliseconds(10) && o.PollInterval <= TimeSpan.FromHours(1), "TrustFramework:PollInterval must be from 00:00:00.010 to 01:00:00.")
            .ValidateOnStart();

        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TrustFrameworkMetrics>();
        services.TryAddSingleton<TrustFrameworkMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<TrustFrameworkMonitor>());
        services.TryAddSingleton<PolicyEngine>();
        services.AddHealthChecks().AddCheck<TrustFrameworkHealthCheck>(TrustFrameworkHealthCheck.Name, tags: [EligibilityGateway.GatewayApplication.ReadyTag]);
        return services;
    }
}
