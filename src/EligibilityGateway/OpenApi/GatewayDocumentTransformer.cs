using EligibilityGateway.Authorization;
using EligibilityGateway.TrustFramework;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.IdentityModel.Tokens;
using Microsoft.OpenApi;

namespace EligibilityGateway.OpenApi;

/// <summary>
/// The parts of the document that are about the whole gateway (info, servers, security schemes, tags) and the
/// operations the generator cannot see: the authorization server's endpoints and the health endpoints are plain
/// request delegates (the token endpoint must answer every method itself, in OAuth form), so they carry no
/// typed metadata. They are described here from the same constants their code uses.
/// </summary>
internal sealed class GatewayDocumentTransformer : IOpenApiDocumentTransformer
{
    /// <summary>Security scheme name of the gateway's access tokens.</summary>
    public const string BearerScheme = "bearer";

    /// <summary>Security scheme name of sandbox client authentication at the token endpoint.</summary>
    public const string ClientSecretBasicScheme = "clientSecretBasic";

    public const string ChecksTag = "Checks";
    public const string AuthorizationServerTag = "Authorization server";
    public const string HealthTag = "Health";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "Eligibility Gateway",
            Version = "1.0.0",
            Description = "Lets UK councils check, in real time and on a lawful basis the trust framework allows, whether a resident is eligible "
                + "for a service, by asking DWP, HMRC and the Home Office. The council learns the answer and nothing more. Every check, "
                + "allowed or denied, is recorded in the audit trail before its answer is released.\n\n"
                + "Errors are RFC 9457 `application/problem+json` with a stable `type` (see the `ProblemDetails` schema); the token "
                + "endpoint answers in RFC 6749 §5.2 form instead.",
            License = new OpenApiLicense { Name = "MIT", Identifier = "MIT" },
        };

        // Relative, so that the document is the same wherever the gateway runs (RFC 3986 §4.2).
        document.Servers = [new OpenApiServer { Url = "/" }];
        document.Tags = new HashSet<OpenApiTag>
        {
            new() { Name = ChecksTag, Description = "Eligibility checks for councils (SPEC §4)." },
            new() { Name = AuthorizationServerTag, Description = "OAuth 2.0 tokens for councils and auditors, discovery and signing keys (SPEC §5.1)." },
            new() { Name = HealthTag, Description = "Liveness and readiness probes." },
        };

        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>
        {
            [BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = $"An RFC 9068 JWT access token from `POST {AuthorizationServerPaths.Token}`: `typ` `{AccessTokenClaims.TokenType}`, "
                    + $"signed ES256 by a key in `{AuthorizationServerPaths.Jwks}`, audience `{AccessTokenClaims.Audience}`, valid for at most 10 minutes. "
                    + $"Each operation lists the scope it needs: `{GatewayScopes.EligibilityCheck}` for checks.",
            },
            [ClientSecretBasicScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "basic",
                Description = "RFC 6749 §2.3.1 `client_secret_basic`: accepted only while the trust framework in force is a sandbox framework. "
                    + "Production clients authenticate with `private_key_jwt` in the request body instead.",
            },
        };

        var schemas = document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        schemas["TokenRequest"] = TokenRequestSchema();
        schemas["TokenResponse"] = TokenResponseSchema();
        schemas["OAuthError"] = OAuthErrorSchema();
        schemas["AuthorizationServerMetadata"] = MetadataSchema();
        schemas["JsonWebKeySet"] = KeySetSchema(document);
        schemas["JsonWebKey"] = KeySchema();

        DescribeCheckIdParameter(document);
        CheckSchemaTransformer.DescribeSubjectMember(document);
        document.Paths ??= new OpenApiPaths();
        document.Paths[AuthorizationServerPaths.Token] = TokenPath(document);
        document.Paths[AuthorizationServerPaths.Jwks] = ReadPath(document, JwksOperation(document));
        document.Paths[AuthorizationServerPaths.OpenIdConfiguration] = ReadPath(document, MetadataOperation(document, "GetOpenIdConfiguration", "OpenID Connect Discovery 1.0 §4"));
        document.Paths[AuthorizationServerPaths.OAuthAuthorizationServer] = ReadPath(document, MetadataOperation(document, "GetOAuthAuthorizationServerMetadata", "RFC 8414 §3"));
        document.Paths["/health/live"] = HealthPath(document, "GetLiveness", "Whether the process answers", "Always `Healthy` while the process serves requests.", ready: false);
        document.Paths["/health/ready"] = HealthPath(document, "GetReadiness", "Whether the gateway can take checks",
            "`Healthy` or `Degraded` (200) once a trust framework is loaded and the audit store can record; `Degraded` when Redis is away "
            + "(checks go to the providers); `Unhealthy` (503) otherwise.", ready: true);
        return Task.CompletedTask;
    }

    private static void DescribeCheckIdParameter(OpenApiDocument document)
    {
        var parameter = document.Paths?.Values.SelectMany(p => p.Operations?.Values ?? Enumerable.Empty<OpenApiOperation>())
            .SelectMany(o => o.Parameters ?? [])
            .OfType<OpenApiParameter>()
            .Where(p => p.Name == "checkId");
        foreach (var checkId in parameter ?? [])
        {
            checkId.Description = "The `checkId` of a check this council made. Any other value, or another council's check, is 404.";
            checkId.Schema = Schemas.String(format: "uuid");
        }
    }

    // ---- POST /connect/token (TokenEndpoint, TokenRequest, OAuthError) ----

    private static OpenApiPathItem TokenPath(OpenApiDocument document) => new()
    {
        Description = "Any method but POST is answered 405 with `Allow: POST` and an `invalid_request` error body.",
        Operations = new Dictionary<HttpMethod, OpenApiOperation>
        {
            [HttpMethod.Post] = new OpenApiOperation
            {
                OperationId = "RequestToken",
                Tags = new HashSet<OpenApiTagReference> { new(AuthorizationServerTag, document) },
                Summary = "Issue an access token to a council or auditor (client credentials)",
                Description = "RFC 6749 §4.4. The client authenticates with exactly one method: `private_key_jwt` (RFC 7523: `client_assertion_type` "
                    + "and `client_assertion` in the body, `aud` exactly the issuer, `jti` single use, ES256, PS256 or RS256, keys from the trust framework) "
                    + "or, in a sandbox framework only, `client_secret_basic` (the `Authorization` header). A `client_secret` in the body is refused. "
                    + "Responses carry `Cache-Control: no-store` and `Pragma: no-cache`.",
                Security =
                [
                    new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ClientSecretBasicScheme, document)] = [] },
                    // private_key_jwt: the credential is the client assertion in the body, which no HTTP scheme describes.
                    new OpenApiSecurityRequirement(),
                ],
                RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Content = new Dictionary<string, OpenApiMediaType>
                    {
                        ["application/x-www-form-urlencoded"] = Schemas.Json(new OpenApiSchemaReference("TokenRequest", document)),
                    },
                },
                Responses = new OpenApiResponses
                {
                    ["200"] = new OpenApiResponse
                    {
                        Description = "The access token (RFC 6749 §5.1).",
                        Headers = NoStoreHeaders(),
                        Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = Schemas.Json(new OpenApiSchemaReference("TokenResponse", document)) },
                    },
                    ["400"] = OAuthErrorResponse(document,
                        "RFC 6749 §5.2: `invalid_request` (not a UTF-8 form, over 16 KiB or 32 parameters, a parameter repeated, `grant_type` missing, "
                        + "more than one authentication method, a wrong `client_assertion_type`), `unsupported_grant_type`, `invalid_scope`, or "
                        + "`unauthorized_client` (the trust framework in force is outside its effective dates).",
                        [OAuthErrorCodes.InvalidRequest, OAuthErrorCodes.UnsupportedGrantType, OAuthErrorCodes.InvalidScope, OAuthErrorCodes.UnauthorizedClient]),
                    ["401"] = WithBasicChallenge(OAuthErrorResponse(document,
                        "`invalid_client`: no credentials, an unknown client, a wrong secret, a refused or replayed client assertion, or a method the client "
                        + "is not registered for.",
                        [OAuthErrorCodes.InvalidClient])),
                    ["503"] = OAuthErrorResponse(document,
                        "`temporarily_unavailable`: the issuance could not be recorded in the audit trail, or the client-assertion replay cache is full; no token was issued.",
                        [OAuthErrorCodes.TemporarilyUnavailable]),
                },
            },
        },
    };

    private static OpenApiSchema TokenRequestSchema() => new()
    {
        Type = JsonSchemaType.Object,
        Description = "RFC 6749 §4.4.2, form-encoded (UTF-8). Each parameter at most once; a parameter with an empty value counts as absent.",
        Required = new HashSet<string>([TokenRequest.Parameters.GrantType], StringComparer.Ordinal),
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            [TokenRequest.Parameters.GrantType] = Schemas.Enum(TokenEndpoint.SupportedGrantTypes),
            [TokenRequest.Parameters.Scope] = Schemas.String(
                $"Space-separated scopes (RFC 6749 §3.3): councils may hold `{GatewayScopes.EligibilityCheck}` and `{GatewayScopes.ConsentsManage}`, "
                + $"auditors `{GatewayScopes.AuditRead}`. Omitted: everything the client may hold. An unknown scope, or one the client may not hold, is `invalid_scope`."),
            [TokenRequest.Parameters.ClientId] = Schemas.String("Optional; when sent it must name the client that authenticates."),
            [TokenRequest.Parameters.ClientAssertionType] = Schemas.Const(PrivateKeyJwtAuthenticator.AssertionType, "With `private_key_jwt` (RFC 7521 §4.2)."),
            [TokenRequest.Parameters.ClientAssertion] = Schemas.String(
                "With `private_key_jwt`: a compact JWS of at most 8 KiB with `iss` = `sub` = the client id, `aud` = the issuer, `exp` at most 5 minutes ahead, and a `jti` never used before (RFC 7523 §3)."),
        },
    };

    private static OpenApiSchema TokenResponseSchema() => Schemas.ClosedObject(
        "RFC 6749 §5.1.",
        ["access_token", "token_type", "expires_in", "scope"],
        new Dictionary<string, IOpenApiSchema>
        {
            ["access_token"] = Schemas.String("An RFC 9068 JWT; see the `bearer` security scheme."),
            ["token_type"] = Schemas.Const("Bearer"),
            ["expires_in"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "1", Maximum = "600", Description = "Lifetime in seconds (at most 10 minutes)." },
            ["scope"] = Schemas.String("The scopes granted, space-separated, in the order of `scopes_supported`."),
        });

    private static OpenApiSchema OAuthErrorSchema() => Schemas.ClosedObject(
        "RFC 6749 §5.2 error response. `error_description` is fixed text in the RFC 6749 character set; it never echoes a secret, assertion or token.",
        ["error", "error_description"],
        new Dictionary<string, IOpenApiSchema>
        {
            ["error"] = Schemas.Enum([OAuthErrorCodes.InvalidRequest, OAuthErrorCodes.InvalidClient, OAuthErrorCodes.UnauthorizedClient,
                OAuthErrorCodes.UnsupportedGrantType, OAuthErrorCodes.InvalidScope, OAuthErrorCodes.TemporarilyUnavailable]),
            ["error_description"] = new OpenApiSchema { Type = JsonSchemaType.String, Pattern = @"^[\x20-\x21\x23-\x5B\x5D-\x7E]*$" },
        });

    private static OpenApiResponse OAuthErrorResponse(OpenApiDocument document, string description, IEnumerable<string> errors) => new()
    {
        Description = description,
        Headers = NoStoreHeaders(),
        Content = new Dictionary<string, OpenApiMediaType>
        {
            ["application/json"] = Schemas.Json(new OpenApiSchema
            {
                AllOf =
                [
                    new OpenApiSchemaReference("OAuthError", document),
                    new OpenApiSchema { Properties = new Dictionary<string, IOpenApiSchema> { ["error"] = Schemas.Enum(errors) } },
                ],
            }),
        },
    };

    private static OpenApiResponse WithBasicChallenge(OpenApiResponse response)
    {
        response.Headers!["WWW-Authenticate"] = Schemas.Header(
            "`Basic realm=\"eligibility-gateway\", charset=\"UTF-8\"` when the client used the `Authorization` header, or sent no credentials to a sandbox gateway (RFC 6749 §5.2).",
            Schemas.String(),
            required: false);
        return response;
    }

    private static Dictionary<string, IOpenApiHeader> NoStoreHeaders() => new()
    {
        ["Cache-Control"] = Schemas.Header("`no-store` (RFC 6749 §5.1).", Schemas.Const("no-store")),
        ["Pragma"] = Schemas.Header("`no-cache`.", Schemas.Const("no-cache")),
    };

    // ---- discovery and JWKS (DiscoveryEndpoints) ----

    private static OpenApiPathItem ReadPath(OpenApiDocument document, OpenApiOperation get)
    {
        // HEAD is routed too and answers as GET does, without a body.
        var head = new OpenApiOperation(get)
        {
            OperationId = "Head" + get.OperationId![3..],
            Responses = new OpenApiResponses(),
        };
        foreach (var (status, response) in get.Responses!)
        {
            head.Responses[status] = new OpenApiResponse { Description = response.Description + " (HEAD: headers only.)", Headers = response.Headers };
        }

        return new OpenApiPathItem { Operations = new Dictionary<HttpMethod, OpenApiOperation> { [HttpMethod.Get] = get, [HttpMethod.Head] = head } };
    }

    private static OpenApiOperation MetadataOperation(OpenApiDocument document, string operationId, string standard) => new()
    {
        OperationId = operationId,
        Tags = new HashSet<OpenApiTagReference> { new(AuthorizationServerTag, document) },
        Summary = $"Authorization server metadata ({standard})",
        Description = "The same document at both well-known paths: what the server does today and nothing it will do later. Endpoint URLs are the issuer plus the path.",
        Responses = new OpenApiResponses
        {
            ["200"] = new OpenApiResponse
            {
                Description = "The metadata.",
                Headers = new Dictionary<string, IOpenApiHeader> { ["Cache-Control"] = Schemas.Header("Re-read within a minute: it changes when the trust framework reloads.", Schemas.Const(DiscoveryEndpoints.MetadataCacheControl)) },
                Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = Schemas.Json(new OpenApiSchemaReference("AuthorizationServerMetadata", document)) },
            },
        },
    };

    private static OpenApiSchema MetadataSchema() => Schemas.ClosedObject(
        "RFC 8414 §2.",
        ["issuer", "token_endpoint", "jwks_uri", "grant_types_supported", "response_types_supported", "token_endpoint_auth_methods_supported",
            "token_endpoint_auth_signing_alg_values_supported", "scopes_supported"],
        new Dictionary<string, IOpenApiSchema>
        {
            ["issuer"] = Schemas.String("The issuer identifier: `Authorization:Issuer`, or derived once from the address the gateway is bound to — never from a request.", "uri"),
            ["token_endpoint"] = Schemas.String(format: "uri"),
            ["jwks_uri"] = Schemas.String(format: "uri"),
            ["grant_types_supported"] = Schemas.ArrayOf(Schemas.Enum(TokenEndpoint.SupportedGrantTypes)),
            ["response_types_supported"] = new OpenApiSchema { Type = JsonSchemaType.Array, Items = Schemas.String(), MaxItems = 0, Description = "Empty: there is no authorization endpoint yet." },
            ["token_endpoint_auth_methods_supported"] = Schemas.ArrayOf(
                Schemas.Enum([ClientAuthentication.PrivateKeyJwtMethod, ClientAuthentication.ClientSecretBasicMethod]),
                "`client_secret_basic` is listed only while a sandbox framework is in force."),
            ["token_endpoint_auth_signing_alg_values_supported"] = Schemas.ArrayOf(Schemas.Enum(PrivateKeyJwtAuthenticator.SupportedAlgorithms)),
            ["scopes_supported"] = Schemas.ArrayOf(Schemas.Enum(GatewayScopes.Supported)),
        });

    private static OpenApiOperation JwksOperation(OpenApiDocument document) => new()
    {
        OperationId = "GetJwks",
        Tags = new HashSet<OpenApiTagReference> { new(AuthorizationServerTag, document) },
        Summary = "The keys that sign access tokens (RFC 7517 §5)",
        Description = "Every signing key of the key ring — two during a rotation — public members only.",
        Parameters =
        [
            new OpenApiParameter { Name = "If-None-Match", In = ParameterLocation.Header, Description = "An `ETag` from an earlier answer, or `*`.", Schema = Schemas.String() },
        ],
        Responses = new OpenApiResponses
        {
            ["200"] = new OpenApiResponse
            {
                Description = "The key set.",
                Headers = KeySetHeaders(),
                Content = new Dictionary<string, OpenApiMediaType> { ["application/jwk-set+json"] = Schemas.Json(new OpenApiSchemaReference("JsonWebKeySet", document)) },
            },
            ["304"] = new OpenApiResponse { Description = "The key set is the one `If-None-Match` names.", Headers = KeySetHeaders() },
        },
    };

    private static Dictionary<string, IOpenApiHeader> KeySetHeaders() => new()
    {
        ["Cache-Control"] = Schemas.Header("A new key is published this long before it signs.", Schemas.Const(DiscoveryEndpoints.JwksCacheControl)),
        ["ETag"] = Schemas.Header("Identifies this key set.", Schemas.String()),
    };

    private static OpenApiSchema KeySetSchema(OpenApiDocument document) => Schemas.ClosedObject(
        "RFC 7517 §5 JWK Set.",
        ["keys"],
        new Dictionary<string, IOpenApiSchema> { ["keys"] = new OpenApiSchema { Type = JsonSchemaType.Array, MinItems = 1, Items = new OpenApiSchemaReference("JsonWebKey", document) } });

    private static OpenApiSchema KeySchema() => Schemas.ClosedObject(
        "A public EC P-256 signing key (RFC 7517 §4, RFC 7518 §6.2.1).",
        ["kty", "crv", "x", "y", "kid", "use", "alg"],
        new Dictionary<string, IOpenApiSchema>
        {
            ["kty"] = Schemas.Const(JsonWebAlgorithmsKeyTypes.EllipticCurve),
            ["crv"] = Schemas.Const(JsonWebKeyECTypes.P256),
            ["x"] = new OpenApiSchema { Type = JsonSchemaType.String, Pattern = "^[A-Za-z0-9_-]{43}$", Description = "base64url" },
            ["y"] = new OpenApiSchema { Type = JsonSchemaType.String, Pattern = "^[A-Za-z0-9_-]{43}$", Description = "base64url" },
            ["kid"] = Schemas.String("The `kid` in the header of the tokens this key signs."),
            ["use"] = Schemas.Const("sig"),
            ["alg"] = Schemas.Const(SecurityAlgorithms.EcdsaSha256),
        });

    // ---- health (GatewayApplication.MapHealth) ----

    private static OpenApiPathItem HealthPath(OpenApiDocument document, string operationId, string summary, string description, bool ready)
    {
        var responses = new OpenApiResponses
        {
            ["200"] = new OpenApiResponse
            {
                Description = ready ? "Ready." : "Alive.",
                Content = new Dictionary<string, OpenApiMediaType> { ["text/plain"] = Schemas.Json(Schemas.Enum(ready ? ["Healthy", "Degraded"] : ["Healthy"])) },
            },
        };
        if (ready)
        {
            responses["503"] = new OpenApiResponse
            {
                Description = "Not ready.",
                Content = new Dictionary<string, OpenApiMediaType> { ["text/plain"] = Schemas.Json(Schemas.Enum(["Unhealthy"])) },
            };
        }

        return new OpenApiPathItem
        {
            Description = "Routed for every method; probes use GET.",
            Operations = new Dictionary<HttpMethod, OpenApiOperation>
            {
                [HttpMethod.Get] = new OpenApiOperation
                {
                    OperationId = operationId,
                    Tags = new HashSet<OpenApiTagReference> { new(HealthTag, document) },
                    Summary = summary,
                    Description = description,
                    Responses = responses,
                },
            },
        };
    }
}
