using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace EligibilityGateway.Authorization;

/// <summary>
/// RFC 6749 §5.1 successful token response; <c>authorization_details</c> (RFC 9396 §7) and <c>refresh_token</c> only for a consent-bound token.
/// </summary>
internal sealed record TokenResponse(string AccessToken, string TokenType, int ExpiresIn, string Scope, IReadOnlyList<EligibilityCheckDetail>? AuthorizationDetails = null, string? RefreshToken = null, string? IdToken = null);

/// <summary>One RFC 9396 authorization details entry of type <c>eligibility-check</c>.</summary>
internal sealed record EligibilityCheckDetail(string Type, string ConsentId);

/// <summary>RFC 6749 §5.2 error response.</summary>
internal sealed record OAuthErrorResponse(string Error, string ErrorDescription);

/// <summary>
/// RFC 8414 §2 metadata, with RFC 9126 §5 (PAR), RFC 9207 §3 (<c>iss</c>) and RFC 9396 §10 (authorization details)
/// members, and the members OpenID Connect Discovery 1.0 §3 requires (<c>subject_types_supported</c>,
/// <c>id_token_signing_alg_values_supported</c>); what the server does today, nothing it will do later.
/// </summary>
internal sealed record AuthorizationServerMetadata(
    string Issuer,
    string AuthorizationEndpoint,
    string PushedAuthorizationRequestEndpoint,
    bool RequirePushedAuthorizationRequests,
    string TokenEndpoint,
    string IntrospectionEndpoint,
    string RevocationEndpoint,
    string UserinfoEndpoint,
    string EndSessionEndpoint,
    string JwksUri,
    ImmutableArray<string> GrantTypesSupported,
    ImmutableArray<string> ResponseTypesSupported,
    ImmutableArray<string> CodeChallengeMethodsSupported,
    bool AuthorizationResponseIssParameterSupported,
    ImmutableArray<string> AuthorizationDetailsTypesSupported,
    ImmutableArray<string> TokenEndpointAuthMethodsSupported,
    IReadOnlyList<string> TokenEndpointAuthSigningAlgValuesSupported,
    ImmutableArray<string> ScopesSupported,
    ImmutableArray<string> SubjectTypesSupported,
    ImmutableArray<string> IdTokenSigningAlgValuesSupported);

/// <summary>A public signing key as published (RFC 7517 §4, RFC 7518 §6.2.1).</summary>
internal sealed record PublishedKey(string Kty, string Crv, string X, string Y, string Kid, string Use, string Alg);

/// <summary>RFC 7517 §5 JWK Set.</summary>
internal sealed record PublishedKeySet(ImmutableArray<PublishedKey> Keys);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(OAuthErrorResponse))]
[JsonSerializable(typeof(AuthorizationServerMetadata))]
[JsonSerializable(typeof(PublishedKeySet))]
[JsonSerializable(typeof(PushedAuthorizationResponse))]
[JsonSerializable(typeof(IntrospectionResponse))]
[JsonSerializable(typeof(UserInfoResponse))]
internal sealed partial class AuthorizationJsonContext : JsonSerializerContext;
