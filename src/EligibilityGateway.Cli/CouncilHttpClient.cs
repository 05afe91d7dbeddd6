using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace EligibilityGateway.Cli;

/// <summary>
/// The gateway as <c>egw bulk check</c> talks to it, as a council: every request carries an access token from client
/// credentials, renewed before it runs out and once more when the gateway answers 401 <c>invalid_token</c> (a job can
/// outlast a token: the rate limit paces it, and access tokens live 5 minutes by default); reads and cancellations
/// that meet a transient failure (connection refused or reset, 408, 429, 5xx — a replica restarting behind the load
/// balancer) are retried with jittered backoff, honouring <c>Retry-After</c>. A submission is never retried: the
/// gateway may have accepted it, and a second one would check every row again.
/// </summary>
internal static class CouncilHttpClient
{
    /// <summary>The HTTP client: retries outside, the token inside, so each attempt carries a token valid at its time.</summary>
    /// <param name="credentials">The token handler, to take the first token before anything else is sent.</param>
    /// <param name="primary">The handler that sends; tests observe the wire through it.</param>
    public static HttpClient Create(
        Uri gateway, string clientId, string clientSecret, TimeProvider time, out ClientCredentialsHandler credentials, HttpMessageHandler? primary = null)
    {
        credentials = new ClientCredentialsHandler(new Uri(gateway, "/connect/token"), clientId, clientSecret, time)
        {
            InnerHandler = primary ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) },
        };
        var retry = new HttpRetryStrategyOptions
        {
            MaxRetryAttempts = 6,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromSeconds(1),
            MaxDelay = TimeSpan.FromSeconds(10),
            ShouldRetryAfterHeader = true,
        };
        retry.DisableFor(HttpMethod.Post);
        var pipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time }.AddRetry(retry).Build();
        return new HttpClient(new ResilienceHandler(pipeline) { InnerHandler = credentials })
        {
            BaseAddress = gateway,
            Timeout = TimeSpan.FromMinutes(2),
        };
    }
}

/// <summary>
/// Client credentials at the token endpoint (RFC 6749 §4.4), the client authenticated with HTTP Basic (§2.3.1), and
/// the access token put on every request as a bearer token (RFC 6750 §2.1).
/// </summary>
internal sealed class ClientCredentialsHandler(Uri tokenEndpoint, string clientId, string clientSecret, TimeProvider time) : DelegatingHandler
{
    /// <summary>A token is renewed when less than this is left of it (or half its life, for shorter tokens).</summary>
    public static readonly TimeSpan RenewalMargin = TimeSpan.FromSeconds(60);

    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    private readonly SemaphoreSlim gate = new(1, 1);
    private CurrentToken? current;

    /// <summary>Takes a token now, so that refused credentials are reported before anything is sent.</summary>
    /// <exception cref="GatewayException">The token endpoint refused the credentials or answered without a token.</exception>
    /// <exception cref="HttpRequestException">The gateway could not be reached, or its token endpoint failed for a moment (5xx, 408, 429).</exception>
    public async Task AcquireAsync(CancellationToken cancellationToken) => await TokenAsync(stale: null, cancellationToken);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var token = await TokenAsync(stale: null, cancellationToken);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var response = await base.SendAsync(request, cancellationToken);

        // Revoked, or rejected by a replica whose clock runs ahead: one new token and one more try. Only a request without
        // a body is sent again (its message can be); a submission's 401 is reported as it is.
        if (response.StatusCode != HttpStatusCode.Unauthorized || request.Content is not null || !InvalidToken(response))
        {
            return response;
        }

        response.Dispose();
        token = await TokenAsync(stale: token, cancellationToken);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await base.SendAsync(request, cancellationToken);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            gate.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>RFC 6750 §3: <c>WWW-Authenticate: Bearer error="invalid_token"</c>.</summary>
    private static bool InvalidToken(HttpResponseMessage response) =>
        response.Headers.WwwAuthenticate.Any(challenge =>
            string.Equals(challenge.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase)
            && challenge.Parameter?.Contains("error=\"invalid_token\"", StringComparison.Ordinal) == true);

    /// <summary>The token in hand while it has more than the margin left and is not <paramref name="stale"/>; a new one otherwise.</summary>
    private async Task<string> TokenAsync(string? stale, CancellationToken cancellationToken)
    {
        if (Usable(current, stale) is { } token)
        {
            return token;
        }

        await gate.WaitAsync(cancellationToken);
        try
        {
            if (Usable(current, stale) is { } renewed)
            {
                return renewed;
            }

            current = await RequestAsync(cancellationToken);
            return current.Value;
        }
        finally
        {
            gate.Release();
        }
    }

    private string? Usable(CurrentToken? token, string? stale) =>
        token is not null && token.Value != stale && time.GetUtcNow() < token.RenewAt ? token.Value : null;

    private async Task<CurrentToken> RequestAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, tokenEndpoint)
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = "eligibility.check" }),
        };
        var credentials = $"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(clientSecret)}";
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials)));
        var requestedAt = time.GetUtcNow();
        using var response = await base.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.IsSuccessStatusCode && Deserialize<TokenResponse>(text) is { AccessToken: { Length: > 0 } token } issued)
        {
            // expires_in is RECOMMENDED (RFC 6749 §5.1); without it the token is used until the gateway refuses it.
            if (issued.ExpiresIn is not > 0)
            {
                return new CurrentToken(token, DateTimeOffset.MaxValue);
            }

            var lifetime = TimeSpan.FromSeconds(issued.ExpiresIn.Value);
            var margin = TimeSpan.FromTicks(Math.Min(RenewalMargin.Ticks, lifetime.Ticks / 2));
            return new CurrentToken(token, requestedAt + lifetime - margin);
        }

        // A replica restarting behind the load balancer, or the token endpoint asking to slow down: transient, so an
        // HttpRequestException, which the retry around this handler retries as it would the request itself.
        if (response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)response.StatusCode >= 500)
        {
            throw new HttpRequestException($"the token endpoint answered {(int)response.StatusCode}", inner: null, response.StatusCode);
        }

        var error = Deserialize<OAuthError>(text);
        throw new GatewayException(response.StatusCode is HttpStatusCode.Unauthorized || error?.Error == "invalid_client"
            ? $"the gateway refused the client credentials of '{clientId}' ({(int)response.StatusCode} {error?.Error ?? "unauthorized"}); check --client-id and the secret."
            : $"no token from the gateway: {(int)response.StatusCode} {error?.Error} {error?.ErrorDescription}".TrimEnd());
    }

    private static T? Deserialize<T>(string text)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(text, Web);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record CurrentToken(string Value, DateTimeOffset RenewAt);

    private sealed record TokenResponse(
        [property: JsonPropertyName("access_token")] string? AccessToken,
        [property: JsonPropertyName("expires_in")] long? ExpiresIn);

    private sealed record OAuthError(
        [property: JsonPropertyName("error")] string? Error,
        [property: JsonPropertyName("error_description")] string? ErrorDescription);
}

/// <summary>The gateway answered something <c>egw</c> cannot go on with; the message says what, without personal data.</summary>
internal sealed class GatewayException(string message) : Exception(message);
