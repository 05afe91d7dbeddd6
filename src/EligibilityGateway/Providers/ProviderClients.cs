using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Polly.CircuitBreaker;
using Polly.Timeout;
using EligibilityGateway.ProviderContracts;

namespace EligibilityGateway.Providers;

/// <summary>Where and as whom to call one provider. Holds a secret: <see cref="ToString"/> leaves it out.</summary>
internal sealed record ProviderEndpoint(string ProviderId, Uri BaseUrl, string Credential)
{
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
        ConcurrencyLimitExceededException => ConcurrencyLimit,
        JsonException or NotSupportedException => MalformedResponse,
        HttpRequestException => ConnectionFailed,
        OperationCanceledException => Timeout,
        _ => Unexpected,
    };
}

/// <summary>The request and response handling the three clients share.</summary>
internal static class ProviderHttp
{
    /// <summary>contracts/providers/README.md: a wrong surname, birth date or identifier all give this 404.</summary>
    public const string NoMatchProblemType = ProviderProblemTypes.NoMatch;

    private static readonly MediaTypeHeaderValue Json = new("application/json");

    public static HttpRequestMessage Post<TBody>(ProviderEndpoint endpoint, string path, TBody body, JsonTypeInfo<TBody> typeInfo)
    {
        // Bytes rather than a streamed JsonContent: the retry sends the same message again, and a known length
        // avoids chunked encoding.
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, typeInfo));
        content.Headers.ContentType = Json;
        var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Resolve(path)) { Content = content };
        return Prepare(request, endpoint);
    }

    public static HttpRequestMessage Get(ProviderEndpoint endpoint, string path) =>
        Prepare(new HttpRequestMessage(HttpMethod.Get, endpoint.Resolve(path)), endpoint);

    /// <summary>
    /// Sends through the provider's pipeline and reads a 200 body as <typeparamref name="T"/>. A 404 whose problem
    /// type is <paramref name="notFoundProblemType"/> is "not found"; every other answer and every exception is a
    /// failure with a short reason. Only the caller's own cancellation escapes, as <see cref="OperationCanceledException"/>.
    /// </summary>
    public static async Task<ProviderResult<T>> SendAsync<T>(
        HttpClient client,
        HttpRequestMessage request,
        JsonTypeInfo<T> typeInfo,
        string? notFoundProblemType,
        CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var value = await response.Content.ReadFromJsonAsync(typeInfo, cancellationToken).ConfigureAwait(false);
                return value is null ? ProviderResult<T>.Failed(ProviderFailureReasons.MalformedResponse) : ProviderResult<T>.Found(value);
            }

            if (response.StatusCode == HttpStatusCode.NotFound && notFoundProblemType is not null &&
                await HasProblemTypeAsync(response, notFoundProblemType, cancellationToken).ConfigureAwait(false))
            {
                return ProviderResult<T>.NotFound();
            }

            return ProviderResult<T>.Failed(ProviderFailureReasons.ForStatus(response.StatusCode));
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            return ProviderResult<T>.Failed(ProviderFailureReasons.ForException(ex));
        }
        finally
        {
            request.Dispose();
        }
    }

    // A 404 from a wrong base URL (an unknown route) must not read as "nobody matches": that would turn a
    // misconfiguration into a definite answer about a person.
    private static async Task<bool> HasProblemTypeAsync(HttpResponseMessage response, string problemType, CancellationToken cancellationToken)
    {
        try
        {
            var problem = await response.Content.ReadFromJsonAsync(ProviderJsonContext.Default.ProviderProblem, cancellationToken).ConfigureAwait(false);
            return string.Equals(problem?.Type, problemType, StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException)
        {
            return false;
        }
    }

    private static HttpRequestMessage Prepare(HttpRequestMessage request, ProviderEndpoint endpoint)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", endpoint.Credential);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/problem+json"));
        request.Options.Set(ProviderResilienceHandler.ProviderIdKey, endpoint.ProviderId);
        return request;
    }
}

/// <summary>
/// DWP (contracts/providers/dwp.openapi.json): <c>POST /v1/citizens/match</c>, then
/// <c>GET /v1/citizens/{citizenId}/claims</c>. The identifiers travel only in the match body; the claims URL
/// carries DWP's opaque citizen id, which is why these clients log no URLs and emit no HTTP client spans.
/// </summary>
internal sealed class DwpClient(HttpClient httpClient)
{
    public const string HttpClientName = "EligibilityGateway.Providers.Dwp";

    public async Task<ProviderResult<ClaimsResponse>> GetClaimsAsync(ProviderEndpoint endpoint, NationalInsuranceLookupRequest person, CancellationToken cancellationToken)
    {
        var match = await ProviderHttp.SendAsync(
            httpClient,
            ProviderHttp.Post(endpoint, "v1/citizens/match", person, ProviderJsonContext.Default.NationalInsuranceLookupRequest),
            ProviderJsonContext.Default.CitizenMatchResponse,
            ProviderHttp.NoMatchProblemType,
            cancellationToken).ConfigureAwait(false);
        if (match.Kind != ProviderResultKind.Found)
        {
            return new ProviderResult<ClaimsResponse>(match.Kind, null, match.FailureReason);
        }

        var citizenId = match.Value!.CitizenId;
        var claims = await ProviderHttp.SendAsync(
            httpClient,
            ProviderHttp.Get(endpoint, $"v1/citizens/{citizenId:D}/claims"),
            ProviderJsonContext.Default.ClaimsResponse,
            // DWP has just matched this citizen: its 404 "unknown-citizen" now would be DWP contradicting itself,
            // so it is a failure (HTTP 404), not "not found".
            notFoundProblemType: null,
            cancellationToken).ConfigureAwait(false);
        return claims.Kind == ProviderResultKind.Found && claims.Value!.CitizenId != citizenId
            ? ProviderResult<ClaimsResponse>.Failed(ProviderFailureReasons.MalformedResponse)
            : claims;
    }
}

/// <summary>HMRC (contracts/providers/hmrc.openapi.json): <c>POST /v1/tax-credits/lookup</c>.</summary>
internal sealed class HmrcClient(HttpClient httpClient)
{
    public const string HttpClientName = "EligibilityGateway.Providers.Hmrc";

    public Task<ProviderResult<TaxCreditsResponse>> LookupTaxCreditsAsync(ProviderEndpoint endpoint, NationalInsuranceLookupRequest person, CancellationToken cancellationToken) =>
        ProviderHttp.SendAsync(
            httpClient,
            ProviderHttp.Post(endpoint, "v1/tax-credits/lookup", person, ProviderJsonContext.Default.NationalInsuranceLookupRequest),
            ProviderJsonContext.Default.TaxCreditsResponse,
            ProviderHttp.NoMatchProblemType,
            cancellationToken);
}

/// <summary>Home Office (contracts/providers/home-office.openapi.json): <c>POST /v1/asylum-support/lookup</c>.</summary>
internal sealed class HomeOfficeClient(HttpClient httpClient)
{
    public const string HttpClientName = "EligibilityGateway.Providers.HomeOffice";

    public Task<ProviderResult<AsylumSupportResponse>> LookupAsylumSupportAsync(ProviderEndpoint endpoint, AsylumSupportLookupRequest person, CancellationToken cancellationToken) =>
        ProviderHttp.SendAsync(
            httpClient,
            ProviderHttp.Post(endpoint, "v1/asylum-support/lookup", person, ProviderJsonContext.Default.AsylumSupportLookupRequest),
            ProviderJsonContext.Default.AsylumSupportResponse,
            ProviderHttp.NoMatchProblemType,
            cancellationToken);
}
