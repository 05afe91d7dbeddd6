using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace EligibilityGateway.Authorization;

/// <summary>A public signing key as published (RFC 7517 §4, RFC 7518 §6.2.1).</summary>
internal sealed record PublishedKey(string Kty, string Crv, string X, string Y, string Kid, string Use, string Alg);

/// <summary>RFC 7517 §5 JWK Set.</summary>
internal sealed record PublishedKeySet(ImmutableArray<PublishedKey> Keys);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PublishedKeySet))]
internal sealed partial class AuthorizationJsonContext : JsonSerializerContext;
