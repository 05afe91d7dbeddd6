using EligibilityGateway.Authorization;
using EligibilityGateway.TrustFramework;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.IdentityModel.Tokens;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;

using OpenIddict.Abstractions;
using OidcGrantTypes = OpenIddict.Abstractions.OpenIddictConstants.GrantTypes;
using OidcParameters = OpenIddict.Abstractions.OpenIddictConstants.Parameters;

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
            new() { Name = ChecksTag, Description = "Eligibility checks for councils." },
            new() { Name = AuthorizationServerTag, Description = "OAuth 2.0 tokens for councils and auditors, discovery and signing keys." },
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
        schemas["PushedAuthorizationRequest"] = ParRequestSchema();
        schemas["PushedAuthorizationResponse"] = ParResponseSchema();
        schemas["IntrospectionResponse"] = IntrospectionResponseSchema();
        schemas["OAuthError"] = OAuthErrorSchema();
        schemas["AuthorizationServerMetadata"] = MetadataSchema();
        schemas["JsonWebKeySet"] = KeySetSchema(document);
        schemas["JsonWebKey"] = KeySchema();

        DescribeCheckIdParameter(document);
        CheckSchemaTransformer.DescribeSubjectMember(document);
        document.Paths ??= new OpenApiPaths();
        document.Paths[AuthorizationServerPaths.Token] = TokenPath(document);
        document.Paths[AuthorizationServerPaths.PushedAuthorization] = ParPath(document);
        document.Paths[AuthorizationServerPaths.Authorize] = AuthorizePath(document);
        document.Paths[AuthorizationServerPaths.AuthorizeContinue] = AuthorizeContinuePath(document);
        document.Paths[AuthorizationServerPaths.Introspect] = ClientFormPath(document, "IntrospectToken",
            "Whether a token is active (RFC 7662)",
            "The council authenticates as at the token endpoint and sends `token` (an access or refresh token). Active only when the token is this "
            + "council's, unexpired, not revoked, and its consent still authorised; then `scope`, `client_id`, `exp`, `iat`, `sub`, `token_type` and "
            + "`authorization_details`. Anything else, another council's token included, is `{\"active\": false}` (RFC 7662 §2.2).",
            "The token's state.", "IntrospectionResponse");
        document.Paths[AuthorizationServerPaths.Revoke] = ClientFormPath(document, "RevokeToken",
            "Revoke an access or refresh token (RFC 7009)",
            "The council authenticates as at the token endpoint and sends `token` (and optionally `token_type_hint`). A refresh token is revoked with "
            + "every token rotated from the same code and their access tokens (RFC 7009 §2.1); an access token by its `jti`. The consent is not "
            + "touched: withdrawing consent is `DELETE /v1/consents/{consentId}`. Unknown or another council's tokens are answered 200 as well (§2.2).",
            "Revoked, or nothing to revoke.", responseSchema: null);
        document.Paths[AuthorizationServerPaths.UserInfo] = UserInfoPath(document);
        document.Paths[AuthorizationServerPaths.EndSession] = EndSessionPath(document);
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

    // ---- POST /connect/token (OpenIddict with Authorization/Server handlers) ----

    private static OpenApiPathItem TokenPath(OpenApiDocument document) => new()
    {
        Description = "Any method but POST is answered 405 with `Allow: POST` and an `invalid_request` error body.",
        Operations = new Dictionary<HttpMethod, OpenApiOperation>
        {
            [HttpMethod.Post] = new OpenApiOperation
            {
                OperationId = "RequestToken",
                Tags = new HashSet<OpenApiTagReference> { new(AuthorizationServerTag, document) },
                Summary = "Issue an access token to a council or auditor (client credentials), or to a council under a consent (authorization code)",
                Description = "RFC 6749 §4.4 `client_credentials`, or RFC 6749 §4.1.3 `authorization_code` with `code`, the exact `redirect_uri` of the "
                    + "authorization request and the PKCE `code_verifier` (RFC 7636 §4.5, S256 only). A code is single use and lives 60 seconds; presenting it "
                    + "again revokes the access tokens it issued (RFC 6749 §4.1.2). The resulting token is bound to the consent: `authorization_details` "
                    + "(RFC 9396) names it, in the token and the response, and `sub` is an opaque pairwise identifier of the citizen. The client authenticates with exactly one method: `private_key_jwt` (RFC 7523: `client_assertion_type` "
                    + "and `client_assertion` in the body, `aud` exactly the issuer, `jti` single use, ES256, PS256 or RS256, keys from the trust framework) "
                    + "or, in a sandbox framework only, `client_secret_basic` (the `Authorization` header). A `client_secret` in the body is refused. "
                    + "Responses carry `Cache-Control: no-store` and `Pragma: no-cache`.",
                Security = ClientAuthenticationRequirements(document),
                RequestBody = FormBody(new OpenApiSchemaReference("TokenRequest", document)),
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
                        + "`unauthorized_client` (the trust framework in force is outside its effective dates), or `invalid_grant` (the code is unknown, "
                        + "expired, used, another client's, or its redirect URI or verifier does not match, or the consent is no longer authorised).",
                        [OAuthErrorCodes.InvalidRequest, OAuthErrorCodes.UnsupportedGrantType, OAuthErrorCodes.InvalidScope, OAuthErrorCodes.UnauthorizedClient, OAuthErrorCodes.InvalidGrant]),
                    ["401"] = WithBasicChallenge(OAuthErrorResponse(document,
                        "`invalid_client`: no credentials, an unknown client, a wrong secret, a refused or replayed client assertion, a method the client "
                        + "is not registered for, or too many recent `client_secret_basic` failures for the client id or the caller's address (with `Retry-After`).",
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
        Required = new HashSet<string>([OidcParameters.GrantType], StringComparer.Ordinal),
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            [OidcParameters.GrantType] = Schemas.Enum([OidcGrantTypes.AuthorizationCode, OidcGrantTypes.RefreshToken, OidcGrantTypes.ClientCredentials]),
            [OidcParameters.Scope] = Schemas.String(
                $"Space-separated scopes (RFC 6749 §3.3): councils may hold `{GatewayScopes.EligibilityCheck}` and `{GatewayScopes.ConsentsManage}`, "
                + $"auditors `{GatewayScopes.AuditRead}`. Omitted: everything the client may hold. An unknown scope, or one the client may not hold, is `invalid_scope`."),
            [OidcParameters.ClientId] = Schemas.String("Optional; when sent it must name the client that authenticates."),
            ["code"] = Schemas.String("With `authorization_code`: the code from the redirect (RFC 6749 §4.1.3)."),
            ["redirect_uri"] = Schemas.String("With `authorization_code`: exactly the `redirect_uri` of the pushed authorization request.", "uri"),
            ["code_verifier"] = Schemas.String("With `authorization_code`: the PKCE verifier, 43-128 unreserved characters (RFC 7636 §4.1)."),
            ["refresh_token"] = Schemas.String("With `refresh_token` (RFC 6749 §6)."),
            [OidcParameters.ClientAssertionType] = Schemas.Const(OpenIddictConstants.ClientAssertionTypes.JwtBearer, "With `private_key_jwt` (RFC 7521 §4.2)."),
            [OidcParameters.ClientAssertion] = Schemas.String(
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
            ["refresh_token"] = Schemas.String("With `authorization_code` and `refresh_token` only: opaque, single use (rotated on each use; the previous one "
                + "serves once more within 60 seconds, for a lost response), valid until the consent expires and refused once it is revoked."),
            ["authorization_details"] = AuthorizationDetailsSchema("With `authorization_code` only: the consent the token is bound to (RFC 9396 §7)."),
            ["id_token"] = Schemas.String("With `authorization_code` when `openid` was granted: an ES256 ID token (OpenID Connect Core §3.1.3.3) with `iss`, "
                + "the pairwise `sub`, `aud` = the council's client id, `iat`, `exp`, `at_hash` and the pushed `nonce`; nothing about who the citizen is."),
        });

    private static OpenApiSchema AuthorizationDetailsSchema(string description) => new()
    {
        Type = JsonSchemaType.Array,
        Description = description,
        MinItems = 1,
        MaxItems = 1,
        Items = Schemas.ClosedObject(
            "An `eligibility-check` entry naming one consent.",
            ["type", "consent_id"],
            new Dictionary<string, IOpenApiSchema>
            {
                ["type"] = Schemas.Const(ConsentAuthorizationDetails.Type),
                ["consent_id"] = Schemas.String("The consent, created with `POST /v1/consents`."),
            }),
    };

    // ---- POST /connect/par (OpenIddict with FlowHandlers.ValidatePushedRequest) and GET /connect/authorize (the consent page) ----

    private static OpenApiPathItem ParPath(OpenApiDocument document) => new()
    {
        Description = "Any method but POST is answered 405 with `Allow: POST` and an `invalid_request` error body.",
        Operations = new Dictionary<HttpMethod, OpenApiOperation>
        {
            [HttpMethod.Post] = new OpenApiOperation
            {
                OperationId = "PushAuthorizationRequest",
                Tags = new HashSet<OpenApiTagReference> { new(AuthorizationServerTag, document) },
                Summary = "Push a council's authorization request for a consent (RFC 9126)",
                Description = "Required before every authorization request. The council authenticates as at the token endpoint. The request must be "
                    + "`response_type=code`, a `redirect_uri` exactly as registered, `scope` with `eligibility.check` (and optionally `openid`), PKCE "
                    + "`code_challenge` with `code_challenge_method=S256`, and `authorization_details` with one `eligibility-check` entry naming a consent "
                    + "of this council awaiting authorisation. The `request_uri` answered is used once, at `GET /connect/authorize`, within `expires_in` seconds.",
                Security = ClientAuthenticationRequirements(document),
                RequestBody = FormBody(new OpenApiSchemaReference("PushedAuthorizationRequest", document)),
                Responses = new OpenApiResponses
                {
                    ["201"] = new OpenApiResponse
                    {
                        Description = "The request is stored (RFC 9126 §2.2).",
                        Headers = NoStoreHeaders(),
                        Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = Schemas.Json(new OpenApiSchemaReference("PushedAuthorizationResponse", document)) },
                    },
                    ["400"] = OAuthErrorResponse(document,
                        "RFC 9126 §2.3: `invalid_request` (form, PKCE, redirect URI, or a `request_uri` sent here), `unsupported_response_type`, `invalid_scope`, "
                        + "`invalid_authorization_details` (RFC 9396 §5: missing, malformed, or not a consent of this council awaiting authorisation), or "
                        + "`unauthorized_client` (not a council, or the framework is outside its effective dates).",
                        [OAuthErrorCodes.InvalidRequest, OAuthErrorCodes.UnsupportedResponseType, OAuthErrorCodes.InvalidScope, OAuthErrorCodes.InvalidAuthorizationDetails, OAuthErrorCodes.UnauthorizedClient]),
                    ["401"] = WithBasicChallenge(OAuthErrorResponse(document, "`invalid_client`, as at the token endpoint.", [OAuthErrorCodes.InvalidClient])),
                    ["503"] = OAuthErrorResponse(document, "`temporarily_unavailable`: too many requests are pending, or the store of pending requests could not be used (the request was not stored).", [OAuthErrorCodes.TemporarilyUnavailable]),
                },
            },
        },
    };

    private static OpenApiSchema ParRequestSchema() => new()
    {
        Type = JsonSchemaType.Object,
        Description = "RFC 9126 §2.1, form-encoded (UTF-8); client authentication parameters as at the token endpoint.",
        Required = new HashSet<string>(["response_type", "redirect_uri", "scope", "code_challenge", "code_challenge_method", "authorization_details"], StringComparer.Ordinal),
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["response_type"] = Schemas.Const("code"),
            ["client_id"] = Schemas.String("Optional; when sent it must name the client that authenticates."),
            ["redirect_uri"] = Schemas.String("One of the council's `redirect_uris` in the trust framework, character for character.", "uri"),
            ["scope"] = Schemas.String("`eligibility.check`, optionally with `openid`."),
            ["state"] = Schemas.String("Returned unchanged with the code or error; at most 512 characters."),
            ["nonce"] = Schemas.String("At most 512 characters."),
            ["code_challenge"] = Schemas.String("BASE64URL(SHA-256(code_verifier)), 43 characters (RFC 7636 §4.2)."),
            ["code_challenge_method"] = Schemas.Const(OpenIddictConstants.CodeChallengeMethods.Sha256),
            ["authorization_details"] = Schemas.String("JSON (RFC 9396 §2): `[{\"type\":\"eligibility-check\",\"consent_id\":\"…\"}]`."),
            [OidcParameters.ClientAssertionType] = Schemas.Const(OpenIddictConstants.ClientAssertionTypes.JwtBearer, "With `private_key_jwt` (RFC 7521 §4.2)."),
            [OidcParameters.ClientAssertion] = Schemas.String("With `private_key_jwt`, as at the token endpoint."),
        },
    };

    private static OpenApiSchema ParResponseSchema() => Schemas.ClosedObject(
        "RFC 9126 §2.2.",
        ["request_uri", "expires_in"],
        new Dictionary<string, IOpenApiSchema>
        {
            ["request_uri"] = Schemas.String($"`{OpenIddictConstants.RequestUris.Prefixes.Generic}` and 256 random bits; single use."),
            ["expires_in"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "1", Maximum = "600", Description = "Seconds the request_uri stays usable." },
        });

    private static OpenApiPathItem ClientFormPath(OpenApiDocument document, string operationId, string summary, string description, string ok, string? responseSchema) => new()
    {
        Description = "Any method but POST is answered 405 with `Allow: POST` and an `invalid_request` error body.",
        Operations = new Dictionary<HttpMethod, OpenApiOperation>
        {
            [HttpMethod.Post] = new OpenApiOperation
            {
                OperationId = operationId,
                Tags = new HashSet<OpenApiTagReference> { new(AuthorizationServerTag, document) },
                Summary = summary,
                Description = description,
                Security = ClientAuthenticationRequirements(document),
                RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Content = new Dictionary<string, OpenApiMediaType>
                    {
                        ["application/x-www-form-urlencoded"] = Schemas.Json(new OpenApiSchema
                        {
                            Type = JsonSchemaType.Object,
                            Required = new HashSet<string>(["token"], StringComparer.Ordinal),
                            Properties = new Dictionary<string, IOpenApiSchema>
                            {
                                ["token"] = Schemas.String("An access token or refresh token of this council."),
                                ["token_type_hint"] = Schemas.Enum(["access_token", "refresh_token"]),
                                [OidcParameters.ClientAssertionType] = Schemas.Const(OpenIddictConstants.ClientAssertionTypes.JwtBearer, "With `private_key_jwt`."),
                                [OidcParameters.ClientAssertion] = Schemas.String("With `private_key_jwt`, as at the token endpoint."),
                            },
                        }),
                    },
                },
                Responses = new OpenApiResponses
                {
                    ["200"] = responseSchema is null
                        ? new OpenApiResponse { Description = ok, Headers = NoStoreHeaders() }
                        : new OpenApiResponse
                        {
                            Description = ok,
                            Headers = NoStoreHeaders(),
                            Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = Schemas.Json(new OpenApiSchemaReference(responseSchema, document)) },
                        },
                    ["400"] = OAuthErrorResponse(document, "`invalid_request`: not a UTF-8 form, a parameter repeated, or no `token`.", [OAuthErrorCodes.InvalidRequest]),
                    ["401"] = WithBasicChallenge(OAuthErrorResponse(document, "`invalid_client`, as at the token endpoint.", [OAuthErrorCodes.InvalidClient])),
                },
            },
        },
    };

    private static OpenApiSchema IntrospectionResponseSchema() => Schemas.ClosedObject(
        "RFC 7662 §2.2. Only `active` when the token is inactive.",
        ["active"],
        new Dictionary<string, IOpenApiSchema>
        {
            ["active"] = new OpenApiSchema { Type = JsonSchemaType.Boolean },
            ["scope"] = Schemas.String(),
            ["client_id"] = Schemas.String(),
            ["exp"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64" },
            ["iat"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64" },
            ["sub"] = Schemas.String("The client id for client credentials; an opaque pairwise citizen identifier under a consent."),
            ["token_type"] = Schemas.Enum(["Bearer", "refresh_token"]),
            ["authorization_details"] = AuthorizationDetailsSchema("The consent the token is bound to."),
        });

    private static OpenApiPathItem UserInfoPath(OpenApiDocument document) => new()
    {
        Operations = new Dictionary<HttpMethod, OpenApiOperation>
        {
            [HttpMethod.Get] = new OpenApiOperation
            {
                OperationId = "GetUserInfo",
                Tags = new HashSet<OpenApiTagReference> { new(AuthorizationServerTag, document) },
                Summary = "The citizen's subject identifier (OpenID Connect Core §5.3)",
                Description = "A consent-bound access token with `openid`, whose consent is authorised, gets `sub` — the opaque pairwise identifier — and no personal data.",
                Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [] }],
                Responses = new OpenApiResponses
                {
                    ["200"] = new OpenApiResponse
                    {
                        Description = "The subject.",
                        Headers = NoStoreHeaders(),
                        Content = new Dictionary<string, OpenApiMediaType>
                        {
                            ["application/json"] = Schemas.Json(Schemas.ClosedObject("OpenID Connect Core §5.3.2.", ["sub"], new Dictionary<string, IOpenApiSchema> { ["sub"] = Schemas.String() })),
                        },
                    },
                    ["401"] = new OpenApiResponse { Description = "No token, a refused token, a token without a consent, or a consent no longer authorised; `WWW-Authenticate: Bearer`." },
                    ["403"] = new OpenApiResponse { Description = "The token lacks `openid`: `WWW-Authenticate: Bearer error=\"insufficient_scope\"`." },
                },
            },
        },
    };

    private static OpenApiPathItem EndSessionPath(OpenApiDocument document) => new()
    {
        Operations = new Dictionary<HttpMethod, OpenApiOperation>
        {
            [HttpMethod.Get] = new OpenApiOperation
            {
                OperationId = "EndSession",
                Tags = new HashSet<OpenApiTagReference> { new(AuthorizationServerTag, document) },
                Summary = "Sign the citizen out (OpenID Connect RP-Initiated Logout 1.0)",
                Description = "With an `id_token_hint` this gateway issued to a council (and to the council in `client_id`, when sent) for the citizen "
                    + "signed in: ends the page session at once. Any other request signs nobody out but shows a page asking *Do you want to sign out?*, "
                    + "whose form posts back here (§2: the OP must ask). After signing out, or with nobody signed in, redirects to "
                    + "`post_logout_redirect_uri` (with `state`) only when a valid hint names the council and the URI is exactly one it registered, "
                    + "else to the start page.",
                Parameters =
                [
                    new OpenApiParameter { Name = "id_token_hint", In = ParameterLocation.Query, Schema = Schemas.String("An ID token from `POST /connect/token`; one past its `exp` is accepted.") },
                    new OpenApiParameter { Name = "client_id", In = ParameterLocation.Query, Schema = Schemas.String() },
                    new OpenApiParameter { Name = "post_logout_redirect_uri", In = ParameterLocation.Query, Schema = Schemas.String(format: "uri") },
                    new OpenApiParameter { Name = "state", In = ParameterLocation.Query, Schema = Schemas.String() },
                ],
                Responses = new OpenApiResponses
                {
                    ["200"] = new OpenApiResponse { Description = "Nobody signed out: the page asking the citizen to confirm.", Content = new Dictionary<string, OpenApiMediaType> { ["text/html"] = new() } },
                    ["302"] = new OpenApiResponse { Description = "Signed out, or nobody was signed in; to the registered URI or `/`." },
                },
            },
            [HttpMethod.Post] = new OpenApiOperation
            {
                OperationId = "ConfirmEndSession",
                Tags = new HashSet<OpenApiTagReference> { new(AuthorizationServerTag, document) },
                Summary = "The citizen confirms signing out",
                Description = "The confirmation page's form, with its antiforgery token and the parameters of the `GET`. Ends the page session and "
                    + "answers 303 to the same `GET`, which then redirects as it does for nobody signed in.",
                RequestBody = FormBody(Schemas.ClosedObject(
                    "The confirmation form.",
                    ["__RequestVerificationToken"],
                    new Dictionary<string, IOpenApiSchema>
                    {
                        ["__RequestVerificationToken"] = Schemas.String("The antiforgery token of the confirmation page."),
                        ["id_token_hint"] = Schemas.String(),
                        ["client_id"] = Schemas.String(),
                        ["post_logout_redirect_uri"] = Schemas.String(format: "uri"),
                        ["state"] = Schemas.String(),
                    })),
                Responses = new OpenApiResponses
                {
                    ["303"] = new OpenApiResponse { Description = "Signed out; to `GET /connect/endsession` with the same parameters." },
                    ["400"] = new OpenApiResponse { Description = "No antiforgery token, or another browser's: an error page, and nobody is signed out.", Content = new Dictionary<string, OpenApiMediaType> { ["text/html"] = new() } },
                },
            },
        },
    };

    private static OpenApiPathItem AuthorizeContinuePath(OpenApiDocument document) => new()
    {
        Operations = new Dictionary<HttpMethod, OpenApiOperation>
        {
            [HttpMethod.Get] = new OpenApiOperation
            {
                OperationId = "ContinueAuthorization",
                Tags = new HashSet<OpenApiTagReference> { new(AuthorizationServerTag, document) },
                Summary = "Sends the citizen's browser to the council with the decision",
                Description = "Reached by the consent form's 303. Once, and only for the citizen who decided: 302 to the council's `redirect_uri` with "
                    + "`code` (or `error=access_denied`), `state` and `iss`. Anything else is an error page.",
                Parameters =
                [
                    new OpenApiParameter { Name = "request_uri", In = ParameterLocation.Query, Required = true, Schema = Schemas.String() },
                ],
                Responses = new OpenApiResponses
                {
                    ["302"] = new OpenApiResponse { Description = "To the council's redirect URI (RFC 6749 §4.1.2, RFC 9207 §2)." },
                    ["400"] = new OpenApiResponse { Description = "An error page: nothing to continue.", Content = new Dictionary<string, OpenApiMediaType> { ["text/html"] = new() } },
                },
            },
        },
    };

    private static OpenApiPathItem AuthorizePath(OpenApiDocument document) => new()
    {
        Operations = new Dictionary<HttpMethod, OpenApiOperation>
        {
            [HttpMethod.Get] = new OpenApiOperation
            {
                OperationId = "Authorize",
                Tags = new HashSet<OpenApiTagReference> { new(AuthorizationServerTag, document) },
                Summary = "The authorization endpoint: the citizen's consent page (RFC 6749 §4.1.1, RFC 9126 §4)",
                Description = "Opened in the citizen's browser with only `client_id` and `request_uri`. Checked first, signed in or not: any other "
                    + "parameter, a `client_id` that is not a council, or a `request_uri` that is unknown, expired, used or another client's, gives an "
                    + "error page (400), never a redirect. Then, signed out → 302 to `/sign-in` (the request stays usable for the return). Signed in as a "
                    + "citizen → the consent page (HTML) with Allow and Deny. Its form answers 303 to `/connect/authorize/continue`, which redirects to the "
                    + "council's `redirect_uri` with `code` (or `error=access_denied`), `state` and `iss` (RFC 9207).",
                Parameters =
                [
                    new OpenApiParameter { Name = "client_id", In = ParameterLocation.Query, Required = true, Schema = Schemas.String() },
                    new OpenApiParameter { Name = "request_uri", In = ParameterLocation.Query, Required = true, Schema = Schemas.String("From `POST /connect/par`.") },
                ],
                Responses = new OpenApiResponses
                {
                    ["200"] = new OpenApiResponse { Description = "The consent page.", Content = new Dictionary<string, OpenApiMediaType> { ["text/html"] = new() } },
                    ["302"] = new OpenApiResponse { Description = "A usable request, nobody signed in: to `/sign-in` with `returnUrl`." },
                    ["400"] = new OpenApiResponse { Description = "An error page: the request cannot be used.", Content = new Dictionary<string, OpenApiMediaType> { ["text/html"] = new() } },
                    ["403"] = new OpenApiResponse { Description = "Signed in as someone who is not a citizen.", Content = new Dictionary<string, OpenApiMediaType> { ["text/html"] = new() } },
                },
            },
        },
    };

    private static OpenApiSchema OAuthErrorSchema() => Schemas.ClosedObject(
        "RFC 6749 §5.2 error response. `error_description` is fixed text in the RFC 6749 character set; it never echoes a secret, assertion or token.",
        ["error", "error_description"],
        new Dictionary<string, IOpenApiSchema>
        {
            ["error"] = Schemas.Enum([OAuthErrorCodes.InvalidRequest, OAuthErrorCodes.InvalidClient, OAuthErrorCodes.UnauthorizedClient,
                OAuthErrorCodes.UnsupportedGrantType, OAuthErrorCodes.InvalidScope, OAuthErrorCodes.TemporarilyUnavailable, OAuthErrorCodes.InvalidGrant,
                OAuthErrorCodes.UnsupportedResponseType, OAuthErrorCodes.InvalidAuthorizationDetails]),
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
        response.Headers["Retry-After"] = Schemas.Header(
            "Seconds until `client_secret_basic` may be tried again, when too many recent failures for the client id or the caller's address refused it "
            + "before the secret was compared (RFC 9110 §10.2.3).",
            Schemas.Integer("int32", minimum: 1),
            required: false);
        return response;
    }

    /// <summary>
    /// How a council authenticates at the token, PAR, introspection and revocation endpoints: <c>client_secret_basic</c>
    /// (sandbox frameworks only) or <c>private_key_jwt</c>, whose credential is the client assertion in the body, which
    /// no HTTP security scheme describes (hence the empty requirement beside it).
    /// </summary>
    private static List<OpenApiSecurityRequirement> ClientAuthenticationRequirements(OpenApiDocument document) =>
    [
        new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ClientSecretBasicScheme, document)] = [] },
        new OpenApiSecurityRequirement(),
    ];

    /// <summary>A required <c>application/x-www-form-urlencoded</c> request body of <paramref name="schema"/>.</summary>
    private static OpenApiRequestBody FormBody(IOpenApiSchema schema) => new()
    {
        Required = true,
        Content = new Dictionary<string, OpenApiMediaType> { ["application/x-www-form-urlencoded"] = Schemas.Json(schema) },
    };

    private static Dictionary<string, IOpenApiHeader> NoStoreHeaders() => new()
    {
        ["Cache-Control"] = Schemas.Header("`no-store` (RFC 6749 §5.1).", Schemas.Const("no-store")),
        ["Pragma"] = Schemas.Header("`no-cache`.", Schemas.Const("no-cache")),
    };

    // ---- discovery (OpenIddict with FlowHandlers.DescribeServer) and JWKS (JwksEndpoint) ----

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
                Headers = new Dictionary<string, IOpenApiHeader> { ["Cache-Control"] = Schemas.Header("Re-read within a minute: it changes when the trust framework reloads.", Schemas.Const("public, max-age=60")) },
                Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = Schemas.Json(new OpenApiSchemaReference("AuthorizationServerMetadata", document)) },
            },
        },
    };

    private static OpenApiSchema MetadataSchema() => Schemas.ClosedObject(
        "RFC 8414 §2.",
        ["issuer", "authorization_endpoint", "pushed_authorization_request_endpoint", "require_pushed_authorization_requests", "token_endpoint",
            "introspection_endpoint", "revocation_endpoint", "userinfo_endpoint", "end_session_endpoint", "jwks_uri", "grant_types_supported", "response_types_supported", "code_challenge_methods_supported",
            "authorization_response_iss_parameter_supported", "authorization_details_types_supported", "token_endpoint_auth_methods_supported",
            "token_endpoint_auth_signing_alg_values_supported", "scopes_supported", "subject_types_supported", "id_token_signing_alg_values_supported"],
        new Dictionary<string, IOpenApiSchema>
        {
            ["issuer"] = Schemas.String("The issuer identifier: `Authorization:Issuer`, or derived once from the address the gateway is bound to — never from a request.", "uri"),
            ["authorization_endpoint"] = Schemas.String(format: "uri"),
            ["pushed_authorization_request_endpoint"] = Schemas.String("RFC 9126 §5.", "uri"),
            ["require_pushed_authorization_requests"] = new OpenApiSchema { Type = JsonSchemaType.Boolean, Enum = [JsonValue.Create(true)], Description = "Always true: every authorization request is pushed first." },
            ["code_challenge_methods_supported"] = Schemas.ArrayOf(Schemas.Const(OpenIddictConstants.CodeChallengeMethods.Sha256)),
            ["authorization_response_iss_parameter_supported"] = new OpenApiSchema { Type = JsonSchemaType.Boolean, Enum = [JsonValue.Create(true)], Description = "Always true (RFC 9207 §3)." },
            ["authorization_details_types_supported"] = Schemas.ArrayOf(Schemas.Const(ConsentAuthorizationDetails.Type), "RFC 9396 §10."),
            ["token_endpoint"] = Schemas.String(format: "uri"),
            ["introspection_endpoint"] = Schemas.String("RFC 7662.", "uri"),
            ["revocation_endpoint"] = Schemas.String("RFC 7009.", "uri"),
            ["userinfo_endpoint"] = Schemas.String("OpenID Connect Core §5.3: `sub` only.", "uri"),
            ["end_session_endpoint"] = Schemas.String("OpenID Connect RP-Initiated Logout 1.0.", "uri"),
            ["jwks_uri"] = Schemas.String(format: "uri"),
            ["grant_types_supported"] = Schemas.ArrayOf(Schemas.Enum([OidcGrantTypes.AuthorizationCode, OidcGrantTypes.RefreshToken, OidcGrantTypes.ClientCredentials])),
            ["response_types_supported"] = Schemas.ArrayOf(Schemas.Const("code")),
            ["token_endpoint_auth_methods_supported"] = Schemas.ArrayOf(
                Schemas.Enum([ClientAuthentication.PrivateKeyJwtMethod, ClientAuthentication.ClientSecretBasicMethod]),
                "`client_secret_basic` is listed only while a sandbox framework is in force."),
            ["token_endpoint_auth_signing_alg_values_supported"] = Schemas.ArrayOf(Schemas.Enum([.. EligibilityGateway.Authorization.Server.ClientAuthenticationHandlers.CheckAssertionShape.Algorithms])),
            ["scopes_supported"] = Schemas.ArrayOf(Schemas.Enum([OpenIddictConstants.Scopes.OpenId, .. GatewayScopes.Supported]), "`openid` only in the authorization-code flow."),
            ["subject_types_supported"] = Schemas.ArrayOf(Schemas.Const("pairwise"), "OpenID Connect Discovery 1.0 §3: a citizen's `sub` differs per council."),
            ["id_token_signing_alg_values_supported"] = Schemas.ArrayOf(Schemas.Const("ES256"), "OpenID Connect Discovery 1.0 §3."),
            ["response_modes_supported"] = Schemas.ArrayOf(Schemas.Const("query"), "The code or error comes back in the redirect URI's query (RFC 6749 §4.1.2)."),
            ["request_uri_parameter_supported"] = new OpenApiSchema { Type = JsonSchemaType.Boolean, Enum = [JsonValue.Create(false)], Description = "False: no request objects by reference (OpenID Connect Discovery 1.0 §3); PAR's `request_uri` is RFC 9126's." },
            ["introspection_endpoint_auth_methods_supported"] = Schemas.ArrayOf(
                Schemas.Enum([ClientAuthentication.PrivateKeyJwtMethod, ClientAuthentication.ClientSecretBasicMethod]), "As at the token endpoint."),
            ["revocation_endpoint_auth_methods_supported"] = Schemas.ArrayOf(
                Schemas.Enum([ClientAuthentication.PrivateKeyJwtMethod, ClientAuthentication.ClientSecretBasicMethod]), "As at the token endpoint."),
            ["pushed_authorization_request_endpoint_auth_methods_supported"] = Schemas.ArrayOf(
                Schemas.Enum([ClientAuthentication.PrivateKeyJwtMethod, ClientAuthentication.ClientSecretBasicMethod]), "As at the token endpoint."),
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
        ["Cache-Control"] = Schemas.Header("A new key is published this long before it signs.", Schemas.Const(JwksEndpoint.CacheControl)),
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
