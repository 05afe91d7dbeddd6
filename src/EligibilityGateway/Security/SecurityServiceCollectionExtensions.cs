using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Security;

internal static class SecurityServiceCollectionExtensions
{
    /// <summary>Registers the <see cref="KeyRing"/>, loaded once and shared; a missing or bad key stops start-up.</summary>
    public static IServiceCollection AddKeyRing(this IServiceCollection services)
    {
        services.AddOptions<KeyRingOptions>()
            .BindConfiguration("Keys")
            .Validate(o => !string.IsNullOrWhiteSpace(o.Directory), "Keys:Directory is required.")
            .ValidateOnStart();
        services.TryAddSingleton(sp => KeyRing.Load(sp.GetRequiredService<IOptions<KeyRingOptions>>().Value));
        return services;
    }
}
