using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Authorization;

namespace EligibilityGateway.Sandbox.Demo;

/// <summary>A sandbox council the demo can act as: its client id, its published sandbox secret and its name.</summary>
internal sealed record DemoCouncil(string ClientId, string Secret, string Name)
{
    /// <summary>The sandbox councils of <c>trust-frameworks/sandbox.yaml</c>; their secrets are public test data (README).</summary>
    public static IReadOnlyList<DemoCouncil> All { get; } =
    [
        new("leeds", "leeds-sandbox-secret", "Leeds City Council"),
        new("camden", "camden-sandbox-secret", "London Borough of Camden"),
    ];

    public static DemoCouncil? Find(string? clientId) => All.FirstOrDefault(c => string.Equals(c.ClientId, clientId, StringComparison.Ordinal));
}

/// <summary>A scheme the demo offers, by the id the gateway knows it by.</summary>
internal sealed record DemoScheme(string Id, string Name)
{
    public static IReadOnlyList<DemoScheme> All { get; } =
    [
        new("free-school-meals", "Free school meals"),
        new("council-tax-support", "Council tax support"),
    ];

    public static DemoScheme? Find(string? id) => All.FirstOrDefault(s => string.Equals(s.Id, id, StringComparison.Ordinal));
}

/// <summary>RFC 8414 metadata the demo relies on, as the gateway published it.</summary>
internal sealed record DemoServerMetadata(string Issuer, Uri AuthorizationEndpoint, Uri ParEndpoint, Uri TokenEndpoint);

/// <summary>Tokens from the token endpoint; <see cref="ExpiresAt"/> is the demo's own reckoning from <c>expires_in</c>.</summary>
internal sealed record DemoTokens(string AccessToken, DateTimeOffset ExpiresAt, string? RefreshToken, string? ConsentId);

/// <summary>What one call to the gateway came to: the JSON on success, otherwise what the gateway said was wrong.</summary>
internal abstract record DemoCall<T>
{
    public sealed record Succeeded(T Value) : DemoCall<T>;

    /// <summary>
    /// A refusal, in the gateway's own words: an RFC 9457 problem (<paramref name="Title"/>, <paramref name="Detail"/>,
    /// <paramref name="Type"/>, and for a consent refusal its <paramref name="ConsentStatus"/>) or an RFC 6749 §5.2 error
    /// (<paramref name="Title"/> is the error code, <paramref name="Detail"/> its description).
    /// </summary>
    public sealed record Refused(string Step, int Status, string Title, string? Detail, string? Type, string? ConsentStatus) : DemoCall<T>;
}

/// <summary>
/// The demo council's side of the protocol, as any council's system would speak it: plain HTTP to the gateway's own
/// address on loopback (never an in-process call), client authentication with the council's sandbox secret
/// (<c>client_secret_basic</c>), discovery (RFC 8414), client credentials, consent creation, PAR (RFC 9126) with
/// PKCE (RFC 7636), the code exchange, refresh and the check.
/// </summary>
internal sealed class DemoGatewayClient(HttpClient http, GatewayIssuer issuer, TimeProvider timeProvider)
{
    /// <summary>
    /// Where the gateway is, as the demo's browser pages and the gateway's tokens both name it: the gateway's issuer
    /// (configured, or derived from its first bound address), never a request's Host header.
    /// </summary>
    public Uri GatewayAddress => new(issuer.Value + "/");

    /// <summary>The demo's redirect URI: <c>/demo/callback</c> at the gateway's address, as the trust framework must list it.</summary>
    public Uri RedirectUri => new(GatewayAddress, DemoCouncilEndpoints.CallbackPath);

    /// <summary>RFC 8414 §3: the metadata, accepted only if its <c>issuer</c> is the address it was fetched from (§3.3).</summary>
    public async Task<DemoCall<DemoServerMetadata>> DiscoverAsync(CancellationToken cancellationToken)
    {
        const string Step = "Discovery (GET /.well-known/oauth-authorization-server)";
        var expectedIssuer = GatewayAddress.AbsoluteUri;
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(GatewayAddress, ".well-known/oauth-authorization-server"));
        return await CallAsync<DemoServerMetadata>(Step, request, HttpStatusCode.OK, json =>
        {
            var issuer = String(json, "issuer");
            if (!string.Equals(issuer, expectedIssuer, StringComparison.Ordinal))
            {
                return new DemoCall<DemoServerMetadata>.Refused(Step, 200, "issuer_mismatch",
                    $"The metadata names the issuer '{issuer}', not '{expectedIssuer}' where it was fetched (RFC 8414 §3.3).", null, null);
            }

            if (!json.TryGetProperty("authorization_response_iss_parameter_supported", out var iss) || iss.ValueKind != JsonValueKind.True
                || !Uri.TryCreate(String(json, "authorization_endpoint"), UriKind.Absolute, out var authorize)
                || !Uri.TryCreate(String(json, "pushed_authorization_request_endpoint"), UriKind.Absolute, out var par)
                || !Uri.TryCreate(String(json, "token_endpoint"), UriKind.Absolute, out var token))
            {
                return new DemoCall<DemoServerMetadata>.Refused(Step, 200, "incomplete_metadata",
                    "The metadata lacks an endpoint the demo needs, or does not promise iss in the authorization response.", null, null);
            }

            return new DemoCall<DemoServerMetadata>.Succeeded(new DemoServerMetadata(issuer!, authorize, par, token));
        }, cancellationToken);
    }

    /// <summary>RFC 6749 §4.4: a token for the council's own system, here to manage consents.</summary>
    public async Task<DemoCall<DemoTokens>> ClientCredentialsAsync(DemoServerMetadata metadata, DemoCouncil council, string scope, CancellationToken cancellationToken) =>
        await TokenAsync("Client credentials token (POST /connect/token)", metadata, council, new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["scope"] = scope,
        }, cancellationToken);

    /// <summary>RFC 6749 §4.1.3 with RFC 7636 §4.5: the code, the same redirect URI and the PKCE verifier.</summary>
    public async Task<DemoCall<DemoTokens>> ExchangeCodeAsync(DemoServerMetadata metadata, DemoCouncil council, string code, string verifier, CancellationToken cancellationToken) =>
        await TokenAsync("Code exchange (POST /connect/token)", metadata, council, new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = RedirectUri.AbsoluteUri,
            ["code_verifier"] = verifier,
        }, cancellationToken);

    /// <summary>RFC 6749 §6: a new access token (and the rotated refresh token) under the same consent.</summary>
    public async Task<DemoCall<DemoTokens>> RefreshAsync(DemoServerMetadata metadata, DemoCouncil council, string refreshToken, CancellationToken cancellationToken) =>
        await TokenAsync("Refresh (POST /connect/token)", metadata, council, new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = refreshToken,
        }, cancellationToken);

    /// <summary><c>POST /v1/consents</c>: a consent awaiting the citizen's authorisation; its id.</summary>
    public async Task<DemoCall<string>> CreateConsentAsync(DemoCouncil council, string accessToken, DemoScheme scheme, string caseReference, CancellationToken cancellationToken)
    {
        using var request = SchemeRequest("v1/consents", accessToken, scheme, caseReference);
        return await CallAsync<string>("Create the consent (POST /v1/consents)", request, HttpStatusCode.Created,
            json => String(json, "consentId") is { } consentId ? new DemoCall<string>.Succeeded(consentId) : null, cancellationToken);
    }

    /// <summary>
    /// RFC 9126 §2: every authorization parameter goes to the gateway over the back channel, so the browser carries only
    /// the opaque <c>request_uri</c>. PKCE S256 (RFC 7636 §4.2), <c>state</c> against CSRF on the callback (RFC 6749
    /// §10.12), and <c>authorization_details</c> naming the consent (RFC 9396).
    /// </summary>
    public async Task<DemoCall<string>> PushAsync(DemoServerMetadata metadata, DemoCouncil council, string consentId, string state, string codeChallenge, CancellationToken cancellationToken)
    {
        var details = Encoding.UTF8.GetString(JsonBytes(writer =>
        {
            writer.WriteStartArray();
            writer.WriteStartObject();
            writer.WriteString("type", "eligibility-check");
            writer.WriteString("consent_id", consentId);
            writer.WriteEndObject();
            writer.WriteEndArray();
        }));

        using var request = new HttpRequestMessage(HttpMethod.Post, metadata.ParEndpoint)
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["response_type"] = "code",
                ["client_id"] = council.ClientId,
                ["redirect_uri"] = RedirectUri.AbsoluteUri,
                ["scope"] = "eligibility.check",
                ["state"] = state,
                ["code_challenge"] = codeChallenge,
                ["code_challenge_method"] = "S256",
                ["authorization_details"] = details,
            }),
        };
        request.Headers.Authorization = Basic(council);
        return await CallAsync<string>("Pushed authorization request (POST /connect/par)", request, HttpStatusCode.Created,
            json => String(json, "request_uri") is { } requestUri ? new DemoCall<string>.Succeeded(requestUri) : null, cancellationToken);
    }

    /// <summary>A check under a consent: no subject and no lawful basis in the body, the token's consent decides both.</summary>
    public async Task<DemoCall<JsonElement>> CheckAsync(string accessToken, DemoScheme scheme, string caseReference, CancellationToken cancellationToken)
    {
        using var request = SchemeRequest("v1/checks", accessToken, scheme, caseReference);
        return await CallAsync<JsonElement>("Check (POST /v1/checks)", request, HttpStatusCode.OK, json => new DemoCall<JsonElement>.Succeeded(json), cancellationToken);
    }

    /// <summary>A bulk check of a CSV file (<c>POST /v1/bulk-checks</c>): the 202's status resource with its <c>rejectedRows</c>.</summary>
    public async Task<DemoCall<JsonElement>> SubmitBulkAsync(string accessToken, DemoScheme scheme, byte[] csv, CancellationToken cancellationToken)
    {
        var content = new ByteArrayContent(csv);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv") { CharSet = "utf-8" };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(GatewayAddress, $"v1/bulk-checks?scheme={Uri.EscapeDataString(scheme.Id)}&lawfulBasis=public-task")) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        return await CallAsync<JsonElement>("Bulk check (POST /v1/bulk-checks)", request, HttpStatusCode.Accepted, json => new DemoCall<JsonElement>.Succeeded(json), cancellationToken);
    }

    /// <summary>A bulk check's status resource.</summary>
    public async Task<DemoCall<JsonElement>> BulkStatusAsync(string accessToken, string bulkCheckId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(GatewayAddress, $"v1/bulk-checks/{Uri.EscapeDataString(bulkCheckId)}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        return await CallAsync<JsonElement>("Bulk check progress (GET /v1/bulk-checks/{id})", request, HttpStatusCode.OK, json => new DemoCall<JsonElement>.Succeeded(json), cancellationToken);
    }

    /// <summary>A bulk check's results as the gateway's CSV download, or null when it did not give them.</summary>
    public async Task<byte[]?> BulkResultsCsvAsync(string accessToken, string bulkCheckId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(GatewayAddress, $"v1/bulk-checks/{Uri.EscapeDataString(bulkCheckId)}/export?format=csv"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        using var response = await SendAsync(request, cancellationToken);
        return response is { StatusCode: HttpStatusCode.OK } ? await response.Content.ReadAsByteArrayAsync(cancellationToken) : null;
    }

    private async Task<DemoCall<DemoTokens>> TokenAsync(string step, DemoServerMetadata metadata, DemoCouncil council, Dictionary<string, string> form, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, metadata.TokenEndpoint) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = Basic(council);
        return await CallAsync<DemoTokens>(step, request, HttpStatusCode.OK, json =>
        {
            if (String(json, "access_token") is not { } accessToken)
            {
                return null;
            }

            var lifetime = json.TryGetProperty("expires_in", out var expiresIn) && expiresIn.TryGetInt32(out var seconds) ? seconds : 60;
            string? consentId = null;
            if (json.TryGetProperty("authorization_details", out var details) && details.ValueKind == JsonValueKind.Array)
            {
                consentId = details.EnumerateArray().Select(d => String(d, "consent_id")).FirstOrDefault(id => id is not null);
            }

            return new DemoCall<DemoTokens>.Succeeded(new DemoTokens(accessToken, timeProvider.GetUtcNow().AddSeconds(lifetime), String(json, "refresh_token"), consentId));
        }, cancellationToken);
    }

    /// <summary>
    /// Sends one step's request and reads the gateway's answer: what <paramref name="read"/> makes of the JSON when the
    /// status is <paramref name="expected"/> (null: the answer lacks what the step needs), else the refusal to show,
    /// or a 502 when the gateway never answered.
    /// </summary>
    private async Task<DemoCall<T>> CallAsync<T>(string step, HttpRequestMessage request, HttpStatusCode expected, Func<JsonElement, DemoCall<T>?> read, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(request, cancellationToken);
        if (response is null)
        {
            return Unreachable<T>(step);
        }

        var body = await ReadJsonAsync(response, cancellationToken);
        return response.StatusCode == expected && body is { } json && read(json) is { } call ? call : Refusal<T>(step, response, body);
    }

    /// <summary>A council API request about a scheme and case (a consent to create, a check under one), with the Bearer token.</summary>
    private HttpRequestMessage SchemeRequest(string path, string accessToken, DemoScheme scheme, string caseReference)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(GatewayAddress, path))
        {
            Content = Json(writer =>
            {
                writer.WriteString("scheme", scheme.Id);
                writer.WriteString("caseReference", caseReference);
            }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        return request;
    }

    /// <summary>The response, or null when the gateway could not be reached or did not answer in time.</summary>
    private async Task<HttpResponseMessage?> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient's own timeout, not the browser going away.
            return null;
        }
    }

    /// <summary>A step the gateway never answered: shown as a 502, as a proxy would say it, never as the demo's own 500.</summary>
    private static DemoCall<T>.Refused Unreachable<T>(string step) =>
        new(step, StatusCodes.Status502BadGateway, "gateway_unreachable", "The gateway could not be reached, or did not answer in time.", null, null);

    /// <summary>RFC 6749 §2.3.1: both parts form-URL-encoded before they are joined, as the RFC asks.</summary>
    private static AuthenticationHeaderValue Basic(DemoCouncil council) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(council.ClientId)}:{Uri.EscapeDataString(council.Secret)}")));

    private static DemoCall<T>.Refused Refusal<T>(string step, HttpResponseMessage response, JsonElement? body)
    {
        var status = (int)response.StatusCode;
        if (body is not { ValueKind: JsonValueKind.Object } json)
        {
            return new DemoCall<T>.Refused(step, status, response.ReasonPhrase ?? "error", "The gateway's answer was not a JSON object.", null, null);
        }

        // RFC 6749 §5.2 error bodies on the OAuth endpoints; RFC 9457 problems on the API.
        return String(json, "error") is { } error
            ? new DemoCall<T>.Refused(step, status, error, String(json, "error_description"), null, null)
            : new DemoCall<T>.Refused(step, status, String(json, "title") ?? response.ReasonPhrase ?? "error", String(json, "detail"), String(json, "type"), String(json, "consentStatus"));
    }

    private static async Task<JsonElement?> ReadJsonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            return text.Length == 0 ? null : JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? String(JsonElement json, string name) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static ByteArrayContent Json(Action<Utf8JsonWriter> writeMembers)
    {
        var content = new ByteArrayContent(JsonBytes(writer =>
        {
            writer.WriteStartObject();
            writeMembers(writer);
            writer.WriteEndObject();
        }));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private static byte[] JsonBytes(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        return buffer.ToArray();
    }
}
