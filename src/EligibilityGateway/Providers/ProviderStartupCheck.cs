using EligibilityGateway.TrustFramework;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace EligibilityGateway.Providers;

/// <summary>
/// Checks that the trust framework fits the provider configuration, right after <see cref="TrustFrameworkMonitor"/>
/// has loaded it (hosted services start in registration order, and the framework is registered first): every
/// provider it names has a credential, and every question it asks is one the gateway knows. At start-up a
/// mismatch stops the gateway with <see cref="OptionsValidationException"/>; on a reload it is logged, and the
/// affected questions fail with a reason until it is fixed.
/// </summary>
internal sealed class ProviderStartupCheck(
    TrustFrameworkMonitor monitor,
    IOptions<ProviderEndpointsOptions> endpoints,
    ILogger<ProviderStartupCheck> logger) : IHostedLifecycleService, IDisposable
{
    private IDisposable? reloadRegistration;

    /// <summary>Every way <paramref name="framework"/> does not fit <paramref name="options"/>, as messages naming the key to fix.</summary>
    public static IReadOnlyList<string> FindMismatches(TrustFrameworkDefinition framework, ProviderEndpointsOptions options)
    {
        var problems = new List<string>();
        foreach (var provider in framework.Providers)
        {
            if (!options.Providers.TryGetValue(provider.Id, out var configured) || string.IsNullOrEmpty(configured.Credential))
            {
                problems.Add($"{ProviderEndpointsOptions.SectionName}:{provider.Id}:Credential is required: the trust framework names provider '{provider.Id}'.");
            }
        }

        foreach (var scheme in framework.Schemes)
        {
            foreach (var question in scheme.Questions)
            {
                if (!ProviderQuestionCatalogue.TryGet(question.QuestionId, out _))
                {
                    problems.Add($"Trust framework scheme '{scheme.Id}' asks provider '{question.ProviderId}' the unknown question '{question.QuestionId}'; known questions: {string.Join(", ", ProviderQuestionCatalogue.KnownIds)}.");
                }
            }
        }

        return problems;
    }

    Task IHostedLifecycleService.StartingAsync(CancellationToken cancellationToken)
    {
        if (!monitor.TryGetCurrent(out var snapshot))
        {
            throw new InvalidOperationException("AddTrustFramework must be registered before AddProviders: the provider check needs the loaded trust framework.");
        }

        var problems = FindMismatches(snapshot.Definition, endpoints.Value);
        if (problems.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(ProviderEndpointsOptions), problems);
        }

        reloadRegistration = ChangeToken.OnChange(monitor.GetReloadToken, () =>
        {
            var found = FindMismatches(monitor.Current.Definition, endpoints.Value);
            if (found.Count > 0)
            {
                Log.FrameworkMismatch(logger, string.Join('\n', found));
            }
        });
        return Task.CompletedTask;
    }

    Task IHostedService.StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedLifecycleService.StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedLifecycleService.StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedService.StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedLifecycleService.StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => reloadRegistration?.Dispose();
}
