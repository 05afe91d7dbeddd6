using System.Diagnostics;
using EligibilityGateway.ProviderContracts;
using EligibilityGateway.TrustFramework;
using Refit;

namespace EligibilityGateway.Providers;

// The three departmental APIs of contracts/providers/{dwp,hmrc,home-office}.openapi.json as Refit interfaces; Refit's
// source generator writes their implementations at build time (no reflection). Every operation carries the bearer
// credential, the four caller headers and, in HttpRequestMessage.Options, the provider's endpoint: the base URL and
// the provider id, which ProviderEndpointHandler and the resilience handler read. Paths are relative to the base URL.

/// <summary>DWP: match a citizen, then read their benefit claims.</summary>
[Headers("Accept: application/json, application/problem+json")]
internal interface IDwpApi
{
    /// <summary><c>POST /v1/citizens/match</c>: 200 with DWP's opaque citizen id, or 404 <c>no-match</c>.</summary>
    [Post("/v1/citizens/match")]
    Task<IApiResponse<CitizenMatchResponse>> MatchCitizenAsync(
        [Body] NationalInsuranceLookupRequest person,
        [Authorize("Bearer")] string credential,
        [Header(ProviderCallerHeaders.CorrelationId)] string correlationId,
        [Header(ProviderCallerHeaders.RequestingOrganisation)] string requestingOrganisation,
        [Header(ProviderCallerHeaders.Scheme)] string scheme,
        [Header(ProviderCallerHeaders.Purpose)] string purpose,
        [Property(ProviderEndpoint.OptionsKeyName)] ProviderEndpoint endpoint,
        CancellationToken cancellationToken);

    /// <summary><c>GET /v1/citizens/{citizenId}/claims</c>. The URL carries DWP's citizen id, so no URL is logged.</summary>
    [Get("/v1/citizens/{citizenId}/claims")]
    Task<IApiResponse<ClaimsResponse>> GetClaimsAsync(
        Guid citizenId,
        [Authorize("Bearer")] string credential,
        [Header(ProviderCallerHeaders.CorrelationId)] string correlationId,
        [Header(ProviderCallerHeaders.RequestingOrganisation)] string requestingOrganisation,
        [Header(ProviderCallerHeaders.Scheme)] string scheme,
        [Header(ProviderCallerHeaders.Purpose)] string purpose,
        [Property(ProviderEndpoint.OptionsKeyName)] ProviderEndpoint endpoint,
        CancellationToken cancellationToken);
}

/// <summary>HMRC: Child and Working Tax Credit awards and household income.</summary>
[Headers("Accept: application/json, application/problem+json")]
internal interface IHmrcApi
{
    /// <summary><c>POST /v1/tax-credits/lookup</c>: 200 with the awards, or 404 <c>no-match</c>.</summary>
    [Post("/v1/tax-credits/lookup")]
    Task<IApiResponse<TaxCreditsResponse>> LookupTaxCreditsAsync(
        [Body] NationalInsuranceLookupRequest person,
        [Authorize("Bearer")] string credential,
        [Header(ProviderCallerHeaders.CorrelationId)] string correlationId,
        [Header(ProviderCallerHeaders.RequestingOrganisation)] string requestingOrganisation,
        [Header(ProviderCallerHeaders.Scheme)] string scheme,
        [Header(ProviderCallerHeaders.Purpose)] string purpose,
        [Property(ProviderEndpoint.OptionsKeyName)] ProviderEndpoint endpoint,
        CancellationToken cancellationToken);
}

/// <summary>Home Office: support under Part VI of the Immigration and Asylum Act 1999.</summary>
[Headers("Accept: application/json, application/problem+json")]
internal interface IHomeOfficeApi
{
    /// <summary><c>POST /v1/asylum-support/lookup</c>: 200 with the periods of support, or 404 <c>no-match</c>.</summary>
    [Post("/v1/asylum-support/lookup")]
    Task<IApiResponse<AsylumSupportResponse>> LookupAsylumSupportAsync(
        [Body] AsylumSupportLookupRequest person,
        [Authorize("Bearer")] string credential,
        [Header(ProviderCallerHeaders.CorrelationId)] string correlationId,
        [Header(ProviderCallerHeaders.RequestingOrganisation)] string requestingOrganisation,
        [Header(ProviderCallerHeaders.Scheme)] string scheme,
        [Header(ProviderCallerHeaders.Purpose)] string purpose,
        [Property(ProviderEndpoint.OptionsKeyName)] ProviderEndpoint endpoint,
        CancellationToken cancellationToken);
}

/// <summary>The generated clients of one gateway, as the questions use them.</summary>
internal sealed record ProviderClientSet(IDwpApi Dwp, IHmrcApi Hmrc, IHomeOfficeApi HomeOffice);

/// <summary>
/// Who asks and why, sent with every provider call as the caller headers (contracts/providers/README.md): the trace
/// id of the check, the council's trust-framework id, the scheme and the permitted purpose. Never a person's data.
/// </summary>
internal sealed record ProviderCaller(string CorrelationId, string RequestingOrganisation, string Scheme, string Purpose)
{
    /// <summary>
    /// The caller of <paramref name="grant"/>'s questions. The correlation id is the W3C trace id of the current
    /// activity — the same trace the outgoing <c>traceparent</c> names — or a fresh random one when nothing is traced.
    /// </summary>
    public static ProviderCaller For(PolicyGrant grant, Activity? current) => new(
        (current?.TraceId ?? ActivityTraceId.CreateRandom()).ToHexString(),
        grant.Council.Id,
        grant.Scheme.Id,
        grant.Purpose);
}

/// <summary>
/// Points each request at its provider: the generated clients build a path under a placeholder base address, and this
/// handler puts it under the base URL of the <see cref="ProviderEndpoint"/> the call names (read per call, so that a
/// reload or an override of the base URL needs no new client). It also notes when the call started, for the retry.
/// </summary>
internal sealed class ProviderEndpointHandler(TimeProvider timeProvider) : DelegatingHandler
{
    /// <summary>The base address the HttpClient carries; never contacted (RFC 6761 reserves <c>.invalid</c>).</summary>
    public static readonly Uri PlaceholderBaseAddress = new("http://provider.invalid/");

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!request.Options.TryGetValue(ProviderEndpoint.OptionsKey, out var endpoint) || request.RequestUri is not { } uri)
        {
            throw new InvalidOperationException("A provider request must name its ProviderEndpoint in HttpRequestMessage.Options.");
        }

        request.RequestUri = endpoint.Resolve(uri.PathAndQuery.TrimStart('/'));
        request.Options.Set(ProviderEndpoint.StartedKey, timeProvider.GetTimestamp());
        return base.SendAsync(request, cancellationToken);
    }
}

/// <summary>How the generated clients read and write bodies.</summary>
internal static class ProviderRefit
{
    /// <summary>
    /// System.Text.Json over the shared <see cref="ProviderJsonContext"/> only — a type it does not describe fails
    /// rather than falling back to reflection. Request bodies are buffered, so that a retry can send them again and
    /// they go with a Content-Length rather than chunked.
    /// </summary>
    public static RefitSettings Settings
    {
        get
        {
            var settings = new RefitSettings(new SystemTextJsonContentSerializer(ProviderJsonContext.Default.Options)) { Buffered = true };
            settings.ExceptionFactory = response => ProviderApiException.CreateAsync(response, settings);
            return settings;
        }
    }
}

/// <summary>
/// A provider's answer other than a success, as the <see cref="ApiException"/> an <see cref="IApiResponse{T}"/> carries:
/// status, headers and the body as text, which <see cref="ProviderResponses"/> reads for the contract's problem type.
/// Refit's default factory would also read an <c>application/problem+json</c> body into its own <c>ProblemDetails</c>
/// through the content serializer; ours knows only the contract's types, so that read threw and caught an exception
/// on every "no match", the commonest answer of all.
/// </summary>
internal sealed class ProviderApiException : ApiException
{
    private ProviderApiException(HttpResponseMessage response, string? content, RefitSettings settings)
        : base(response.RequestMessage!, response.RequestMessage!.Method, content, response.StatusCode, response.ReasonPhrase, response.Headers, settings)
    {
    }

    /// <summary>Null for a success (Refit then reads the body as the operation's type); otherwise the answer as an exception.</summary>
    public static async ValueTask<Exception?> CreateAsync(HttpResponseMessage response, RefitSettings settings)
    {
        if (response.IsSuccessStatusCode)
        {
            return null;
        }

        // ProviderResponseBuffering has read the body into memory already, inside the attempt.
        var content = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        return new ProviderApiException(response, content, settings);
    }
}
