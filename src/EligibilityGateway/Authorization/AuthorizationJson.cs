using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace EligibilityGateway.Authorization;

/// <summary>RFC 6749 §5.1 successful token response.</summary>
internal sealed record TokenResponse(string AccessToken, string TokenType, int ExpiresIn, string Scope);

/// <summary>RFC 6749 §5.2 error response.</summary>
internal sealed record OAuthErrorResponse(string Error, string ErrorDescription);

/// <summary>RFC 8414 §2 metadata; what the server does today, nothing it will do later.</summary>
internal sealed record AuthorizationServerMetadata(
    string Issuer,
    string TokenEndpoint,
    string JwksUri,
    ImmutableArray<string> GrantTypesSupported,
    ImmutableArray<string> ResponseTypesSupported,
    ImmutableArray<string> TokenEndpointAuthMethodsSupported,
    IReadOnlyList<string> TokenEndpointAuthSigningAlgValuesSupported,
    ImmutableArray<string> ScopesSupported);

/// <summary>A public signing key as published (RFC 7517 §4, RFC 7518 §6.2.1).</summary>
internal sealed record PublishedKey(string Kty, string Crv, string X, string Y, string Kid, string Use, string Alg);

/// <summary>RFC 7517 §5 JWK Set.</summary>
internal sealed record PublishedKeySet(ImmutableArray<PublishedKey> Keys);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(OAuthErrorResponse))]
[JsonSerializable(typeof(AuthorizationServerMetadata))]
[JsonSerializable(typeof(PublishedKeySet))]
internal sealed partial class AuthorizationJsonContext : JsonSerializerContext;
