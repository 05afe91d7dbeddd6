using System.Net;
using System.Text.Json;
using EligibilityGateway.ProviderContracts;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Timeout;
using Refit;

namespace EligibilityGateway.Providers;

/// <summary>Where and as whom to call one provider. Holds a secret: <see cref="ToString"/> leaves it out.</summary>
internal sealed record ProviderEndpoint(string ProviderId, Uri BaseUrl, string Credential)
{
    /// <summary>The <see cref="HttpRequestMessage.Options"/> key under which a call carries its endpoint.</summary>
    public const string OptionsKeyName = "EligibilityGateway.ProviderEndpoint";

    /// <inheritdoc cref="OptionsKeyName"/>
    public static readonly HttpRequestOptionsKey<ProviderEndpoint> OptionsKey = new(OptionsKeyName);

    /// <summary>When the call entered the handlers, as a <see cref="TimeProvider"/> timestamp; read to bound <c>Retry-After</c>.</summary>
    public static readonly HttpRequestOptionsKey<long> StartedKey = new("EligibilityGateway.ProviderCallStarted");

    /// <summary><paramref name="relativePath"/> under the base URL, keeping the base URL's own path (<c>…/dwp</c>).</summary>
    public Uri Resolve(string relativePath)
    {
        var baseText = BaseUrl.AbsoluteUri;
        return new Uri(new Uri(baseText.EndsWith('/') ? baseText : baseText + "/"), relativePath);
    }

    public override string ToString() => $"ProviderEndpoint {{ {ProviderId}, {BaseUrl}, credential redacted }}";
}

/// <summary>What a provider lookup came to: the provider's data, "does not know this person", or a failure.</summary>
internal enum ProviderResultKind
{
    Found,
    NotFound,
    Failed,
}

/// <summary>A provider lookup's result as a value (expected outcomes are never exceptions).</summary>
internal readonly record struct ProviderResult<T>(ProviderResultKind Kind, T? Value, string? FailureReason)
    where T : class
{
    public static ProviderResult<T> Found(T value) => new(ProviderResultKind.Found, value, null);

    public static ProviderResult<T> NotFound() => new(ProviderResultKind.NotFound, null, null);

    public static ProviderResult<T> Failed(string reason) => new(ProviderResultKind.Failed, null, reason);
}

/// <summary>
/// The short reasons a <see cref="EligibilityGateway.Checks.ProviderCall"/> carries. They are a contract read by
/// audit records and operators: add, never reword.
/// </summary>
internal static class ProviderFailureReasons
{
    public const string Timeout = "timeout";
    public const string CircuitOpen = "circuit open";
    public const string ConcurrencyLimit = "concurrency limit";
    public const string ConnectionFailed = "connection failed";
    public const string MalformedResponse = "malformed response";
    public const string CredentialRefused = "credential refused (HTTP 401)";
    public const string NoCredential = "no credential configured";
    public const string UnknownQuestion = "unknown question";
    public const string UnknownProvider = "provider not in trust framework";
    public const string Unexpected = "unexpected error";

    /// <summary>Not a failure: the question was not asked because the subject lacks the identifier it needs.</summary>
    public const string NotAskedNeedsNationalInsuranceNumber = "not asked: needs a National Insurance number";

    /// <summary>Not a failure: the question was not asked because the subject lacks the identifier it needs.</summary>
    public const string NotAskedNeedsAsylumSupportNumber = "not asked: needs a NASS number";

    /// <summary>An answer other than the contract's success and not-found, e.g. <c>HTTP 503</c>.</summary>
    public static string ForStatus(HttpStatusCode status) =>
        status == HttpStatusCode.Unauthorized ? CredentialRefused : $"HTTP {(int)status}";

    /// <summary>The reason for an exception out of the pipeline; <see cref="Unexpected"/> for anything unforeseen.</summary>
    public static string ForException(Exception exception) => exception switch
    {
        BrokenCircuitException => CircuitOpen,
        TimeoutRejectedException => Timeout,
        RateLimiterRejectedException => ConcurrencyLimit,
        JsonException or NotSupportedException => MalformedResponse,
        HttpRequestException => ConnectionFailed,
        OperationCanceledException => Timeout,
        _ => Unexpected,
    };
}

/// <summary>
/// Turns a generated client's <see cref="IApiResponse{T}"/> into a <see cref="ProviderResult{T}"/>: a 200 whose body
/// reads as <typeparamref name="T"/> is found; a 404 whose problem type is the contract's <c>no-match</c> is "not found"
/// (when the operation can say so); every other answer and every failure to get one is a failure with a short reason.
/// </summary>
internal static class ProviderResponses
{
    /// <summary>Only the caller's own cancellation escapes, as <see cref="OperationCanceledException"/>.</summary>
    public static async Task<ProviderResult<T>> ReadAsync<T>(Task<IApiResponse<T>> call, bool noMatchIsNotFound, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            using var response = await call.ConfigureAwait(false);
            if (response.Error is ApiRequestException { InnerException: { } transport })
            {
                // No answer at all: the pipeline's timeout, open circuit or full limiter, or the connection.
                return ProviderResult<T>.Failed(ProviderFailureReasons.ForException(transport));
            }

            if (response.StatusCode == HttpStatusCode.OK)
            {
                // A 200 whose body breaks the contract comes back with a deserialisation error, or no content for "null".
                return response.Error is null && response.Content is { } value
                    ? ProviderResult<T>.Found(value)
                    : ProviderResult<T>.Failed(ProviderFailureReasons.MalformedResponse);
            }

            if (response.StatusCode == HttpStatusCode.NotFound && noMatchIsNotFound && IsNoMatch(response.Error as ApiException))
            {
                return ProviderResult<T>.NotFound();
            }

            return ProviderResult<T>.Failed(response.StatusCode is { } status ? ProviderFailureReasons.ForStatus(status) : ProviderFailureReasons.Unexpected);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            return ProviderResult<T>.Failed(ProviderFailureReasons.ForException(ex));
        }
    }

    // A 404 from a wrong base URL (an unknown route) must not read as "nobody matches": that would turn a
    // misconfiguration into a definite answer about a person. Only the contract's problem type counts.
    private static bool IsNoMatch(ApiException? error)
    {
        if (error?.Content is not { Length: > 0 } content)
        {
            return false;
        }

        try
        {
            var problem = JsonSerializer.Deserialize(content, ProviderJsonContext.Default.ProviderProblem);
            return string.Equals(problem?.Type, ProviderProblemTypes.NoMatch, StringComparison.Ordinal);
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
