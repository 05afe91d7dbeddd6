using EligibilityGateway.ProviderContracts;
using EligibilityGateway.Providers;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Refit;

// In Microsoft.Extensions.DependencyInjection so that hosts find it without another using.
#pragma warning disable IDE0130
namespace Microsoft.Extensions.DependencyInjection;
#pragma warning restore IDE0130

/// <summary>Registers the provider clients, their resilience pipelines and the scheme evaluator.</summary>
public static class ProvidersServiceCollectionExtensions
{
    /// <summary>The one named HttpClient behind the three generated clients, and so behind one resilience handler.</summary>
    internal const string HttpClientName = "EligibilityGateway.Providers";

    /// <summary>
    /// Adds <c>SchemeEvaluator</c>, the Refit-generated DWP, HMRC and Home Office clients on one HttpClient behind one
    /// resilience pipeline per provider, and a start-up check that the trust framework fits the configuration. Needs
    /// <c>AddTrustFramework</c> first. Configuration: <c>Providers:&lt;providerId&gt;:Credential</c> (required for
    /// every provider of the framework), <c>Providers:&lt;providerId&gt;:BaseUrl</c> (optional override) and the
    /// <c>ProviderResilience</c> section.
    /// </summary>
    public static IServiceCollection AddProviders(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(SchemeEvaluator)))
        {
            // Once only: a second call would put a second resilience handler (and so nested retries) on the client.
            return services;
        }

        // Bound from the root: the options type has one property, Providers, so only that section is read.
        services.AddOptions<ProviderEndpointsOptions>().Bind(configuration).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ProviderEndpointsOptions>, ProviderEndpointsOptionsValidator>());
        services.AddOptions<ProviderResilienceOptions>().Bind(configuration.GetSection(ProviderResilienceOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ProviderResilienceOptions>, ProviderResilienceOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ProviderLimitsMonitor>();
        services.TryAddSingleton<IOptionsMonitor<ProviderLimits>>(sp => sp.GetRequiredService<ProviderLimitsMonitor>());
        services.TryAddSingleton<ProviderCircuits>();
        services.AddSingleton<SchemeEvaluator>();
        services.AddHostedService<ProviderStartupCheck>();

        // The three generated clients share one named HttpClient, so that their calls to a provider share its one
        // pipeline (ProviderResilience.cs: one instance per provider id, selected per call) whichever API they call.
        var settings = ProviderRefit.Settings;
        services.AddRefitGeneratedClient<IDwpApi>(ProviderJsonContext.Default, _ => settings, HttpClientName);
        services.AddRefitGeneratedClient<IHmrcApi>(ProviderJsonContext.Default, _ => settings, HttpClientName);
        var http = services.AddRefitGeneratedClient<IHomeOfficeApi>(ProviderJsonContext.Default, _ => settings, HttpClientName)
            .ConfigureHttpClient(client =>
            {
                // The generated clients need a base address; ProviderEndpointHandler puts each call under its provider's.
                client.BaseAddress = ProviderEndpointHandler.PlaceholderBaseAddress;
                // The pipeline's total timeout bounds every call; HttpClient's own 100 s default would only mask it.
                client.Timeout = Timeout.InfiniteTimeSpan;
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                // A redirect is not part of any provider contract; following one could send the request elsewhere.
                AllowAutoRedirect = false,
                UseCookies = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            })
            // IHttpClientFactory's request logging writes URLs, and the DWP claims URL carries a citizen id.
            .RemoveAllLoggers();

        // Handlers run in the order added, outermost first: endpoint → the provider's pipeline → body buffering.
        http.AddHttpMessageHandler(sp => new ProviderEndpointHandler(sp.GetRequiredService<TimeProvider>()));
        http.AddResilienceHandler(ProviderPipeline.Name, ProviderPipeline.Configure)
            .SelectPipelineBy(_ => ProviderPipeline.SelectProvider);
        http.AddHttpMessageHandler(() => new ProviderResponseBuffering());

        // The evaluator is a singleton, so it keeps one of each client; PooledConnectionLifetime above still renews
        // connections (and so DNS) every five minutes, which is what handler rotation would otherwise give.
        services.AddSingleton(sp => new ProviderClientSet(
            sp.GetRequiredService<IDwpApi>(), sp.GetRequiredService<IHmrcApi>(), sp.GetRequiredService<IHomeOfficeApi>()));
        return services;
    }
}
