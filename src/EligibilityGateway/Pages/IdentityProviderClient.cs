using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Authorization;
using EligibilityGateway.Checks;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Pages;

/// <summary>
/// The gateway as an OpenID Connect relying party of the citizens' identity provider: the authorization code flow
/// with PKCE (OpenID Connect Core §3.1, RFC 7636 S256), state and nonce, and the ID token checks of OpenID Connect
/// Core §3.1.3.7. Expected failures are <see cref="FederatedSignInOutcome"/> values, never exceptions.
/// </summary>
internal sealed class IdentityProviderClient(
    IHttpClientFactory httpClients,
    IOptions<IdentityProviderOptions> options,
    GatewayIssuer gatewayIssuer,
    TimeProvider timeProvider,
    ILogger<IdentityProviderClient> logger)
{
    /// <summary>The named <see cref="HttpClient"/> that talks to the provider.</summary>
    public const string HttpClientName = "identity-provider";

    /// <summary>Where the provider sends the citizen back: the gateway's issuer plus this path.</summary>
    public const string CallbackPath = "/sign-in/callback";

    /// <summary>How long a started sign-in may take before its callback is refused.</summary>
    public static readonly TimeSpan SignInWindow = TimeSpan.FromMinutes(10);

    /// <summary>Tolerance for the provider's clock in <c>exp</c> and <c>iat</c>.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(60);

    /// <summary>Metadata and keys are read again after this long, and sooner when an ID token names an unknown key.</summary>
    private static readonly TimeSpan MetadataLifetime = TimeSpan.FromHours(1);

    /// <summary>An unknown <c>kid</c> refreshes the keys at most this often, so forged tokens cannot make us hammer the provider.</summary>
    private static readonly TimeSpan KeyRefreshInterval = TimeSpan.FromSeconds(30);

    /// <summary>RFC 8725 §3.1: an explicit list; <c>none</c> and HS* (which would take a public key as a secret) never verify.</summary>
    private static readonly string[] IdTokenAlgorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    private readonly IdentityProviderOptions settings = options.Value;
    private readonly SemaphoreSlim metadataLock = new(1, 1);
    private readonly JsonWebTokenHandler tokens = new() { MapInboundClaims = false };
    private ProviderMetadata? metadata;
    private Lazy<SigningCredentials?>? clientKey;

    public bool Enabled => settings.Enabled;

    public string DisplayName => settings.DisplayName;

    /// <summary>The redirect URI registered at the provider: the gateway's issuer, never the request's Host header.</summary>
    public string RedirectUri => gatewayIssuer.Value + CallbackPath;

    /// <summary>
    /// Begins a sign-in: fresh state, nonce and PKCE verifier, and the provider's authorization URL carrying them.
    /// Null when the provider's metadata cannot be read (it is down or misconfigured).
    /// </summary>
    public async Task<(Uri Location, FederatedSignInRequest Request)?> StartAsync(string? returnUrl, CancellationToken cancellationToken)
    {
        if (await MetadataAsync(refresh: false, cancellationToken) is not { } provider)
        {
            return null;
        }

        var request = new FederatedSignInRequest(
            Random(), Random(), Random(), returnUrl, (timeProvider.GetUtcNow() + SignInWindow).ToUnixTimeSeconds());
        var scope = string.Join(' ', new[] { "openid" }.Concat(settings.Scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(s => s != "openid")).Distinct(StringComparer.Ordinal));
        var location = QueryHelpers.AddQueryString(provider.AuthorizationEndpoint.AbsoluteUri, new Dictionary<string, string?>
        {
            ["response_type"] = "code",
            ["client_id"] = settings.ClientId,
            ["redirect_uri"] = RedirectUri,
            ["scope"] = scope,
            ["state"] = request.State,
            ["nonce"] = request.Nonce,
            ["code_challenge"] = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(request.CodeVerifier))),
            ["code_challenge_method"] = "S256",
        });
        Log.FederatedSignInStarted(logger);
        return (new Uri(location), request);
    }

    /// <summary>
    /// Finishes a sign-in from the callback's query: the response must answer <paramref name="request"/> (state,
    /// RFC 9207 <c>iss</c>), the code is exchanged with the PKCE verifier, and the ID token must pass every check before
    /// the identity in it is read.
    /// </summary>
    public async Task<FederatedSignInOutcome> CompleteAsync(FederatedSignInRequest request, IQueryCollection query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(query);
        if (query.Any(p => p.Value.Count != 1))
        {
            return Refused(FederatedSignInFailure.Invalid, "a response parameter was repeated");
        }

        // RFC 6749 §10.12: the state ties the response to the browser that started the sign-in (login CSRF).
        var state = query["state"].ToString();
        if (!FixedTimeEquals(state, request.State))
        {
            return Refused(FederatedSignInFailure.Invalid, "state did not match");
        }

        if (request.ExpiresAt < timeProvider.GetUtcNow().ToUnixTimeSeconds())
        {
            return Refused(FederatedSignInFailure.Expired, "the sign-in took too long");
        }

        if (await MetadataAsync(refresh: false, cancellationToken) is not { } provider)
        {
            return Refused(FederatedSignInFailure.Unavailable, "provider metadata could not be read");
        }

        // RFC 9207 §2.4: when present (and required when the provider says it sends it), iss names our provider — no mix-up.
        var iss = query["iss"].ToString();
        if ((iss.Length > 0 || provider.IssParameterSupported) && !string.Equals(iss, provider.Issuer, StringComparison.Ordinal))
        {
            return Refused(FederatedSignInFailure.Invalid, "iss did not name the provider");
        }

        if (query.ContainsKey("error"))
        {
            // RFC 6749 §4.1.2.1. access_denied is the citizen cancelling or refusing; anything else is the provider's failure.
            return query["error"] == "access_denied"
                ? Refused(FederatedSignInFailure.Cancelled, "the citizen cancelled")
                : Refused(FederatedSignInFailure.Invalid, "the provider answered with an error");
        }

        var code = query["code"].ToString();
        if (code.Length is 0 or > 2048)
        {
            return Refused(FederatedSignInFailure.Invalid, "no usable code");
        }

        var idToken = await ExchangeAsync(provider, code, request.CodeVerifier, cancellationToken);
        if (idToken.Failure is { } exchangeFailure)
        {
            return exchangeFailure;
        }

        return await ValidateIdTokenAsync(provider, idToken.Token!, request.Nonce, cancellationToken);
    }

    private async Task<(string? Token, FederatedSignInOutcome.Refused? Failure)> ExchangeAsync(ProviderMetadata provider, string code, string verifier, CancellationToken cancellationToken)
    {
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = RedirectUri,
            ["code_verifier"] = verifier,
        };
        using var message = new HttpRequestMessage(HttpMethod.Post, provider.TokenEndpoint);
        if (ClientKey() is { } key)
        {
            // OpenID Connect Core §9 private_key_jwt: iss = sub = client id, aud = the token endpoint, single-use jti.
            var now = timeProvider.GetUtcNow();
            form["client_id"] = settings.ClientId!;
            form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
            form["client_assertion"] = tokens.CreateToken(new SecurityTokenDescriptor
            {
                Issuer = settings.ClientId,
                Audience = provider.TokenEndpoint.AbsoluteUri,
                Claims = new Dictionary<string, object> { ["sub"] = settings.ClientId!, ["jti"] = Random() },
                IssuedAt = now.UtcDateTime,
                NotBefore = now.UtcDateTime,
                Expires = (now + TimeSpan.FromMinutes(1)).UtcDateTime,
                SigningCredentials = key,
            });
        }
        else
        {
            // RFC 6749 §2.3.1: each part form-urlencoded before Basic.
            message.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(
                Uri.EscapeDataString(settings.ClientId!) + ":" + Uri.EscapeDataString(settings.ClientSecret!))));
        }

        message.Content = new FormUrlEncodedContent(form);
        try
        {
            using var client = httpClients.CreateClient(HttpClientName);
            using var response = await client.SendAsync(message, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return (null, Refused(FederatedSignInFailure.Invalid, "the token endpoint refused the code"));
            }

            using var json = JsonDocument.Parse(body);
            return json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("id_token", out var idToken) && idToken.ValueKind == JsonValueKind.String
                ? (idToken.GetString(), null)
                : (null, Refused(FederatedSignInFailure.Invalid, "the token response had no ID token"));
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Log.IdentityProviderUnreachable(logger, "token endpoint", ex.GetType().Name);
            return (null, Refused(FederatedSignInFailure.Unavailable, "the token endpoint could not be reached"));
        }
    }

    /// <summary>OpenID Connect Core §3.1.3.7, then the identity claims (README.md, "Federated sign-in").</summary>
    private async Task<FederatedSignInOutcome> ValidateIdTokenAsync(ProviderMetadata provider, string idToken, string nonce, CancellationToken cancellationToken)
    {
        // §3.1.3.7 (1): no encrypted ID tokens are agreed with the provider, so only a signed compact JWS is accepted.
        if (idToken.Length > 16 * 1024 || idToken.Count(c => c == '.') != 2)
        {
            return Refused(FederatedSignInFailure.Invalid, "the ID token is not a signed JWT");
        }

        var result = await tokens.ValidateTokenAsync(idToken, Parameters(provider));
        if (!result.IsValid && result.Exception is SecurityTokenSignatureKeyNotFoundException
            && timeProvider.GetUtcNow() - provider.FetchedAt > KeyRefreshInterval
            && await MetadataAsync(refresh: true, cancellationToken) is { } refreshed)
        {
            // The provider may have rotated its keys since we read them.
            provider = refreshed;
            result = await tokens.ValidateTokenAsync(idToken, Parameters(provider));
        }

        if (!result.IsValid || result.SecurityToken is not JsonWebToken token)
        {
            return Refused(FederatedSignInFailure.Invalid, result.Exception switch
            {
                SecurityTokenInvalidIssuerException => "the ID token is from another issuer",
                SecurityTokenInvalidAudienceException => "the ID token is for another audience",
                SecurityTokenInvalidAlgorithmException => "the ID token algorithm is not allowed",
                SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "the ID token signature did not verify",
                _ => "the ID token did not validate",
            });
        }

        // §3.1.3.7 (4, 5): several audiences need an azp, and an azp must be us.
        var audiences = token.Audiences.ToList();
        var hasAzp = token.TryGetPayloadValue<string>("azp", out var azp);
        if ((audiences.Count > 1 && !hasAzp) || (hasAzp && !string.Equals(azp, settings.ClientId, StringComparison.Ordinal)))
        {
            return Refused(FederatedSignInFailure.Invalid, "the ID token is for another party");
        }

        // §3.1.3.7 (9, 10) against the injected clock: exp required and not past, iat required and not in the future.
        var now = timeProvider.GetUtcNow();
        if (!token.TryGetPayloadValue<long>("exp", out var exp) || DateTimeOffset.FromUnixTimeSeconds(exp) + ClockSkew < now)
        {
            return Refused(FederatedSignInFailure.Invalid, "the ID token has expired");
        }

        if (!token.TryGetPayloadValue<long>("iat", out var iat) || DateTimeOffset.FromUnixTimeSeconds(iat) - ClockSkew > now)
        {
            return Refused(FederatedSignInFailure.Invalid, "the ID token iat is missing or in the future");
        }

        // §3.1.3.7 (11): the nonce we sent, against replay of an ID token issued for another sign-in.
        if (!token.TryGetPayloadValue<string>("nonce", out var tokenNonce) || !FixedTimeEquals(tokenNonce, nonce))
        {
            return Refused(FederatedSignInFailure.Invalid, "the ID token nonce did not match");
        }

        // §2: sub is required, at most 255 ASCII characters.
        if (!token.TryGetPayloadValue<string>("sub", out var sub) || sub.Length is 0 or > 255 || sub.Any(c => c is < ' ' or > '~'))
        {
            return Refused(FederatedSignInFailure.Invalid, "the ID token has no usable sub");
        }

        if (ReadIdentity(token, DateOnly.FromDateTime(now.UtcDateTime)) is not { } identity)
        {
            return Refused(FederatedSignInFailure.IdentityIncomplete, "the ID token lacks a valid identity");
        }

        return new FederatedSignInOutcome.SignedIn(provider.Issuer, sub, identity);
    }

    /// <summary>The identity from the configured claims, validated and normalised exactly as a check's subject is.</summary>
    private Subject? ReadIdentity(JsonWebToken token, DateOnly today)
    {
        var names = settings.Claims;
        var body = new SubjectBody(Claim(names.NationalInsuranceNumber), Claim(names.NationalAsylumSeekerServiceNumber), Claim(names.LastName), Claim(names.DateOfBirth));
        return CheckRequestValidator.ValidateSubject(body, today, new ValidationErrors());

        string? Claim(string name) => token.TryGetPayloadValue<string>(name, out var value) ? value : null;
    }

    private TokenValidationParameters Parameters(ProviderMetadata provider) => new()
    {
        ValidIssuer = provider.Issuer,
        ValidAudience = settings.ClientId,
        IssuerSigningKeys = provider.Keys,
        ValidAlgorithms = IdTokenAlgorithms,
        // A token without a kid is tried against each key; one with a kid only against that key.
        TryAllIssuerSigningKeys = true,
        RequireSignedTokens = true,
        ValidateIssuer = true,
        ValidateAudience = true,
        // Lifetime is checked against the injected TimeProvider afterwards: the handler reads the system clock.
        ValidateLifetime = false,
        RequireExpirationTime = false,
        ValidateIssuerSigningKey = false,
    };

    /// <summary>The provider's discovery document and keys, cached; null (and logged) when they cannot be read or are unacceptable.</summary>
    private async Task<ProviderMetadata?> MetadataAsync(bool refresh, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (!refresh && Volatile.Read(ref metadata) is { } cached && now - cached.FetchedAt < MetadataLifetime)
        {
            return cached;
        }

        await metadataLock.WaitAsync(cancellationToken);
        try
        {
            if (!refresh && metadata is { } again && now - again.FetchedAt < MetadataLifetime)
            {
                return again;
            }

            var fetched = await FetchMetadataAsync(cancellationToken);
            if (fetched is not null)
            {
                Volatile.Write(ref metadata, fetched);
            }

            return fetched;
        }
        finally
        {
            metadataLock.Release();
        }
    }

    private async Task<ProviderMetadata?> FetchMetadataAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var client = httpClients.CreateClient(HttpClientName);
            using var discovery = JsonDocument.Parse(await client.GetStringAsync(settings.DiscoveryAddress, cancellationToken));
            var root = discovery.RootElement;

            // OpenID Connect Discovery §4.3: the issuer in the document is exactly the one we asked about.
            var issuer = String(root, "issuer");
            if (issuer is null || !string.Equals(issuer, settings.Authority, StringComparison.Ordinal))
            {
                Log.IdentityProviderMetadataRefused(logger, "issuer differs from IdentityProvider:Authority");
                return null;
            }

            var authorize = Endpoint(root, "authorization_endpoint");
            var token = Endpoint(root, "token_endpoint");
            var jwksUri = Endpoint(root, "jwks_uri");
            if (authorize is null || token is null || jwksUri is null)
            {
                Log.IdentityProviderMetadataRefused(logger, "an endpoint is missing or not https");
                return null;
            }

            var jwks = new JsonWebKeySet(await client.GetStringAsync(jwksUri, cancellationToken));
            var keys = jwks.GetSigningKeys();
            if (keys.Count == 0)
            {
                Log.IdentityProviderMetadataRefused(logger, "the provider publishes no signing key");
                return null;
            }

            var issSupported = root.TryGetProperty("authorization_response_iss_parameter_supported", out var iss) && iss.ValueKind == JsonValueKind.True;
            return new ProviderMetadata(issuer, authorize, token, [.. keys], issSupported, timeProvider.GetUtcNow());
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or ArgumentException or InvalidOperationException
                                   or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Log.IdentityProviderUnreachable(logger, "discovery", ex.GetType().Name);
            return null;
        }

        static string? String(JsonElement root, string name) =>
            root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

        static Uri? Endpoint(JsonElement root, string name) =>
            Uri.TryCreate(String(root, name), UriKind.Absolute, out var uri) && IdentityProviderOptions.IsAcceptableEndpoint(uri) ? uri : null;
    }

    private SigningCredentials? ClientKey() =>
        (clientKey ??= new Lazy<SigningCredentials?>(LoadClientKey, LazyThreadSafetyMode.ExecutionAndPublication)).Value;

    private SigningCredentials? LoadClientKey()
    {
        if (string.IsNullOrWhiteSpace(settings.ClientKeyPath))
        {
            return null;
        }

        var pem = File.ReadAllText(settings.ClientKeyPath);
        if (pem.Contains("EC PRIVATE KEY", StringComparison.Ordinal) || TryEcdsa(pem) is not null)
        {
            var ecdsa = ECDsa.Create();
            ecdsa.ImportFromPem(pem);
            return new SigningCredentials(new ECDsaSecurityKey(ecdsa) { KeyId = settings.ClientKeyId }, SecurityAlgorithms.EcdsaSha256);
        }

        var rsa = RSA.Create();
        rsa.ImportFromPem(pem);
        return new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = settings.ClientKeyId }, SecurityAlgorithms.RsaSha256);

        static ECDsa? TryEcdsa(string pem)
        {
            var ecdsa = ECDsa.Create();
            try
            {
                ecdsa.ImportFromPem(pem);
                return ecdsa;
            }
            catch (Exception ex) when (ex is ArgumentException or CryptographicException)
            {
                ecdsa.Dispose();
                return null;
            }
        }
    }

    private FederatedSignInOutcome.Refused Refused(FederatedSignInFailure failure, string reason)
    {
        Log.FederatedSignInRefused(logger, failure, reason);
        return new FederatedSignInOutcome.Refused(failure);
    }

    private static string Random() => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));

    private static bool FixedTimeEquals(string? presented, string expected) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(expected));

    private sealed record ProviderMetadata(string Issuer, Uri AuthorizationEndpoint, Uri TokenEndpoint, SecurityKey[] Keys, bool IssParameterSupported, DateTimeOffset FetchedAt);
}

/// <summary>
/// What the gateway remembers between sending a citizen to the provider and their return, in a data-protected,
/// short-lived cookie bound to their browser: nothing personal.
/// </summary>
internal sealed record FederatedSignInRequest(string State, string Nonce, string CodeVerifier, string? ReturnUrl, long ExpiresAt);

/// <summary>Why a federated sign-in did not sign anyone in.</summary>
internal enum FederatedSignInFailure
{
    /// <summary>The citizen cancelled at the provider, or refused to share their details.</summary>
    Cancelled,

    /// <summary>The response or the ID token failed a check (state, iss, code, signature, issuer, audience, nonce, expiry).</summary>
    Invalid,

    /// <summary>The sign-in was started too long ago, or in another browser.</summary>
    Expired,

    /// <summary>The provider did not give a complete, valid identity (identifier, surname, date of birth).</summary>
    IdentityIncomplete,

    /// <summary>The provider could not be reached.</summary>
    Unavailable,
}

/// <summary>How a federated sign-in ended.</summary>
internal abstract record FederatedSignInOutcome
{
    private FederatedSignInOutcome()
    {
    }

    /// <summary>A verified identity from <paramref name="Issuer"/> for its account <paramref name="ProviderSubject"/>.</summary>
    public sealed record SignedIn(string Issuer, string ProviderSubject, Subject Identity) : FederatedSignInOutcome
    {
        public override string ToString() => "SignedIn { redacted }";
    }

    public sealed record Refused(FederatedSignInFailure Failure) : FederatedSignInOutcome;
}
