using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Providers;

/// <summary>
/// The <c>Providers</c> configuration section: per provider id, the credential the gateway presents and an
/// optional base-URL override, e.g. <c>Providers:dwp:Credential</c>, <c>Providers:dwp:BaseUrl</c>.
/// </summary>
/// <remarks>
/// Bound from the configuration root so that the provider ids of the trust framework are the keys. Which ids
/// need a credential depends on the framework, which loads when the host starts, so that rule is checked by
/// <see cref="ProviderStartupCheck"/> right after the framework loads (and on every reload).
/// </remarks>
internal sealed class ProviderEndpointsOptions
{
    public const string SectionName = "Providers";

    /// <summary>Keyed by provider id, compared case-insensitively as configuration keys are.</summary>
    public Dictionary<string, ProviderEndpointOptions> Providers { get; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>One provider's entry in <see cref="ProviderEndpointsOptions"/>.</summary>
internal sealed class ProviderEndpointOptions
{
    /// <summary>The bearer credential sent as <c>Authorization: Bearer …</c>. A secret: never logged.</summary>
    /// <value>Required for every provider the trust framework names. RFC 6750 §2.1 <c>b64token</c> characters only.</value>
    public string? Credential { get; set; }

    /// <summary>Replaces the trust framework's <c>base_url</c> (a test mock, a private route to the provider).</summary>
    /// <value>Optional; an absolute http or https URL without user info, query or fragment.</value>
    public Uri? BaseUrl { get; set; }
}

/// <summary>Checks each <c>Providers:&lt;id&gt;</c> entry on its own.</summary>
internal sealed partial class ProviderEndpointsOptionsValidator : IValidateOptions<ProviderEndpointsOptions>
{
    public ValidateOptionsResult Validate(string? name, ProviderEndpointsOptions options)
    {
        var failures = new List<string>();
        foreach (var (providerId, endpoint) in options.Providers)
        {
            var prefix = $"{ProviderEndpointsOptions.SectionName}:{providerId}";
            // RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=". Anything else
            // (spaces, line breaks) could not travel in the header, so refuse it here rather than on the first call.
            if (endpoint.Credential is { } credential && !Bearer().IsMatch(credential))
            {
                failures.Add($"{prefix}:Credential must be an RFC 6750 bearer token (letters, digits, - . _ ~ + / and trailing =).");
            }

            if (endpoint.BaseUrl is { } baseUrl &&
                (!baseUrl.IsAbsoluteUri || (baseUrl.Scheme != Uri.UriSchemeHttp && baseUrl.Scheme != Uri.UriSchemeHttps) ||
                 baseUrl.UserInfo.Length > 0 || baseUrl.Query.Length > 0 || baseUrl.Fragment.Length > 0))
            {
                failures.Add($"{prefix}:BaseUrl must be an absolute http or https URL without user info, query or fragment.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    [GeneratedRegex("^[A-Za-z0-9._~+/-]+=*$", RegexOptions.CultureInvariant)]
    private static partial Regex Bearer();
}

/// <summary>
/// The <c>ProviderResilience</c> section: retry and circuit-breaker settings shared by every provider's pipeline
/// (README.md, "The pipeline"). Timeouts and the concurrency limit are per provider and come from the trust framework.
/// </summary>
internal sealed class ProviderResilienceOptions
{
    public const string SectionName = "ProviderResilience";

    /// <summary>Retries after the first attempt, on transient failures only.</summary>
    /// <value>Default 2 (three attempts); 0 to 10.</value>
    public int MaxRetryAttempts { get; set; } = 2;

    /// <summary>Median delay before the first retry; later retries back off exponentially with jitter.</summary>
    /// <value>Default 200 ms; 0 to 1 minute; not more than <see cref="RetryMaxDelay"/>.</value>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Cap on a computed backoff delay. A provider's <c>Retry-After</c> is honoured beyond it, up to the time left.</summary>
    /// <value>Default 2 s; 0 to 1 minute.</value>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Share of failed attempts within <see cref="BreakerSamplingDuration"/> that opens the circuit.</summary>
    /// <value>Default 0.5; greater than 0, at most 1.</value>
    public double BreakerFailureRatio { get; set; } = 0.5;

    /// <summary>Attempts the sampling window must hold before the ratio is looked at.</summary>
    /// <value>Default 10; at least 2.</value>
    public int BreakerMinimumThroughput { get; set; } = 10;

    /// <summary>The window over which the failure ratio is measured.</summary>
    /// <value>Default 30 s; 0.5 s to 1 day.</value>
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an open circuit fails calls at once before letting a trial call through.</summary>
    /// <value>Default 15 s; 0.5 s to 1 day.</value>
    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Calls that may wait for one of a provider's <c>max_concurrency</c> slots; beyond it a call fails at once.</summary>
    /// <value>Default 512; 0 (no queue) to 100 000. A queued call still counts against its total timeout.</value>
    public int QueueLimit { get; set; } = 512;
}

/// <summary>Ranges of <see cref="ProviderResilienceOptions"/> and the rules that tie its fields together.</summary>
internal sealed class ProviderResilienceOptionsValidator : IValidateOptions<ProviderResilienceOptions>
{
    private static readonly TimeSpan MinimumBreakerWindow = TimeSpan.FromMilliseconds(500);

    public ValidateOptionsResult Validate(string? name, ProviderResilienceOptions options)
    {
        const string Section = ProviderResilienceOptions.SectionName;
        var failures = new List<string>();
        if (options.MaxRetryAttempts is < 0 or > 10)
        {
            failures.Add($"{Section}:MaxRetryAttempts must be from 0 to 10.");
        }

        if (options.RetryBaseDelay < TimeSpan.Zero || options.RetryBaseDelay > TimeSpan.FromMinutes(1))
        {
            failures.Add($"{Section}:RetryBaseDelay must be from 00:00:00 to 00:01:00.");
        }

        if (options.RetryMaxDelay < TimeSpan.Zero || options.RetryMaxDelay > TimeSpan.FromMinutes(1))
        {
            failures.Add($"{Section}:RetryMaxDelay must be from 00:00:00 to 00:01:00.");
        }

        // Cross-field: a cap below the base delay would silently turn exponential backoff into a constant one.
        if (options.RetryBaseDelay > options.RetryMaxDelay)
        {
            failures.Add($"{Section}:RetryBaseDelay ({options.RetryBaseDelay}) must not exceed {Section}:RetryMaxDelay ({options.RetryMaxDelay}).");
        }

        if (!(options.BreakerFailureRatio > 0 && options.BreakerFailureRatio <= 1))
        {
            failures.Add($"{Section}:BreakerFailureRatio must be greater than 0 and at most 1.");
        }

        // Polly.Core's own lower bounds: a throughput of one would open the circuit on a single failure, and windows
        // under half a second are below its sampling resolution.
        if (options.BreakerMinimumThroughput < 2)
        {
            failures.Add($"{Section}:BreakerMinimumThroughput must be at least 2.");
        }

        if (options.BreakerSamplingDuration < MinimumBreakerWindow || options.BreakerSamplingDuration > TimeSpan.FromDays(1))
        {
            failures.Add($"{Section}:BreakerSamplingDuration must be from 00:00:00.5 to 1.00:00:00.");
        }

        if (options.BreakerBreakDuration < MinimumBreakerWindow || options.BreakerBreakDuration > TimeSpan.FromDays(1))
        {
            failures.Add($"{Section}:BreakerBreakDuration must be from 00:00:00.5 to 1.00:00:00.");
        }

        // Cross-field: a window no longer than one backoff delay could never see the retries of one call together,
        // so a provider failing every attempt might never reach the minimum throughput.
        if (options.BreakerSamplingDuration <= options.RetryMaxDelay)
        {
            failures.Add($"{Section}:BreakerSamplingDuration ({options.BreakerSamplingDuration}) must be longer than {Section}:RetryMaxDelay ({options.RetryMaxDelay}).");
        }

        if (options.QueueLimit is < 0 or > 100_000)
        {
            failures.Add($"{Section}:QueueLimit must be from 0 to 100000.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
