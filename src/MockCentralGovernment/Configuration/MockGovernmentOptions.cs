using Microsoft.Extensions.Options;
using MockCentralGovernment.Faults;

namespace MockCentralGovernment.Configuration;

/// <summary>Settings of the mock central government, bound from the <c>MockCentralGovernment</c> section.</summary>
internal sealed class MockGovernmentOptions
{
    public const string SectionName = "MockCentralGovernment";

    /// <summary>The credential each provider expects as <c>Authorization: Bearer …</c>.</summary>
    public ProvidersOptions Providers { get; set; } = new();

    /// <summary>Size and seed of the synthetic population.</summary>
    public PopulationOptions Population { get; set; } = new();

    /// <summary>The runtime control API under <c>/_control/</c> and the fault injector it drives.</summary>
    public ControlOptions Control { get; set; } = new();
}

internal sealed class ProvidersOptions
{
    public ProviderOptions Dwp { get; set; } = new();

    public ProviderOptions Hmrc { get; set; } = new();

    public ProviderOptions HomeOffice { get; set; } = new();

    public ProviderOptions For(ProviderKind provider) => provider switch
    {
        ProviderKind.Dwp => Dwp,
        ProviderKind.Hmrc => Hmrc,
        ProviderKind.HomeOffice => HomeOffice,
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown provider."),
    };
}

internal sealed class ProviderOptions
{
    /// <summary>The bearer credential. <value>Sandbox default: <c>&lt;provider&gt;-sandbox-credential</c> (see <see cref="MockGovernmentDefaults"/>).</value></summary>
    public string Credential { get; set; } = "";
}

internal sealed class PopulationOptions
{
    /// <summary>Seed of the synthetic population. <value>Default: 20261122.</value></summary>
    public long Seed { get; set; } = 20261122;

    /// <summary>Number of synthetic people besides the named fixtures. <value>Default: 10,000.</value></summary>
    public int Size { get; set; } = 10_000;
}

internal sealed class ControlOptions
{
    /// <summary>
    /// When set, <c>/_control/</c> requires <c>Authorization: Bearer</c> with this value; when empty the control API
    /// is open, which suits the sandbox and tests on loopback. <value>Default: empty.</value>
    /// </summary>
    public string? Credential { get; set; }

    /// <summary>How long a request chosen to time out is held before it is answered 504. <value>Default: 30,000 ms.</value></summary>
    public int DefaultTimeoutHoldMilliseconds { get; set; } = 30_000;

    /// <summary>Seed of the per-request draws that decide jitter, errors and timeouts. <value>Default: 1.</value></summary>
    public long FaultSeed { get; set; } = 1;
}

/// <summary>Rejects settings the mock cannot run with, so a bad configuration stops it at start rather than at the first call.</summary>
internal sealed class MockGovernmentOptionsValidator : IValidateOptions<MockGovernmentOptions>
{
    /// <summary>Upper bound on the synthetic population, to keep start-up under a second and memory small.</summary>
    public const int MaxPopulation = 1_000_000;

    public ValidateOptionsResult Validate(string? name, MockGovernmentOptions options)
    {
        var failures = new List<string>();
        var credentials = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var provider in ProviderKinds.All)
        {
            var credential = options.Providers.For(provider).Credential;
            var key = $"{MockGovernmentOptions.SectionName}:Providers:{provider}:Credential";
            if (string.IsNullOrWhiteSpace(credential))
            {
                failures.Add($"{key} is required.");
            }
            else if (!IsBearerToken(credential))
            {
                failures.Add($"{key} must be 1–512 characters of the RFC 6750 b64token alphabet (letters, digits, -._~+/ and trailing =).");
            }
            else if (!credentials.TryAdd(credential, key))
            {
                // One provider's credential must never open another's API.
                failures.Add($"{key} must differ from {credentials[credential]}.");
            }
        }

        var control = options.Control.Credential;
        if (!string.IsNullOrEmpty(control))
        {
            if (!IsBearerToken(control))
            {
                failures.Add($"{MockGovernmentOptions.SectionName}:Control:Credential must use the RFC 6750 b64token alphabet.");
            }
            else if (credentials.TryGetValue(control, out var clash))
            {
                failures.Add($"{MockGovernmentOptions.SectionName}:Control:Credential must differ from {clash}.");
            }
        }

        if (options.Control.DefaultTimeoutHoldMilliseconds is < 0 or > FaultSettings.MaxMilliseconds)
        {
            failures.Add($"{MockGovernmentOptions.SectionName}:Control:DefaultTimeoutHoldMilliseconds must be between 0 and {FaultSettings.MaxMilliseconds}.");
        }

        if (options.Population.Size is < 0 or > MaxPopulation)
        {
            failures.Add($"{MockGovernmentOptions.SectionName}:Population:Size must be between 0 and {MaxPopulation}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    // RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    internal static bool IsBearerToken(string value)
    {
        if (value.Length is 0 or > 512)
        {
            return false;
        }

        var end = value.Length;
        while (end > 0 && value[end - 1] == '=')
        {
            end--;
        }

        if (end == 0)
        {
            return false;
        }

        foreach (var c in value.AsSpan(0, end))
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or '+' or '/'))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// Defaults that hold wherever the mock runs (standalone, inside the sandbox host, in tests), so they live in code
/// rather than in an appsettings file that only the standalone content root would load. Anything configured overrides them.
/// </summary>
internal static class MockGovernmentDefaults
{
    public static IReadOnlyDictionary<string, string?> Values { get; } = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
    {
        ["MockCentralGovernment:Providers:Dwp:Credential"] = "dwp-sandbox-credential",
        ["MockCentralGovernment:Providers:Hmrc:Credential"] = "hmrc-sandbox-credential",
        ["MockCentralGovernment:Providers:HomeOffice:Credential"] = "home-office-sandbox-credential",
        // The mock is the zero-latency upstream in benchmarks: no per-request information logs.
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        // The gateway's sandbox trust framework points at http://127.0.0.1:8081/{dwp,hmrc,home-office}.
        ["urls"] = "http://127.0.0.1:8081",
    };
}
