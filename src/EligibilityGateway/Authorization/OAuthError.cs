namespace EligibilityGateway.Authorization;

/// <summary>
/// An expected refusal at the token endpoint, as data (RFC 6749 §5.2). Steps return one of these instead of
/// throwing; <see cref="TokenEndpoint"/> turns it into the JSON error response.
/// </summary>
/// <param name="Error">An RFC 6749 §5.2 error code (<see cref="OAuthErrorCodes"/>).</param>
/// <param name="Description">Human-readable, fixed text: never echoes a secret, assertion or token.</param>
/// <param name="StatusCode">400, or 401 for <c>invalid_client</c>, or 503 when the server cannot record or remember.</param>
/// <param name="BasicChallenge">True when the response must carry <c>WWW-Authenticate: Basic</c> (RFC 6749 §5.2).</param>
internal sealed record OAuthError(string Error, string Description, int StatusCode, bool BasicChallenge = false)
{
    /// <summary>When set, the response carries <c>Retry-After</c> in whole seconds (RFC 9110 §10.2.3): a throttled client.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>
    /// RFC 6749 §5.2 and RFC 6750 §3: <c>error_description</c> holds only %x20-21 / %x23-5B / %x5D-7E. Descriptions are
    /// written that way; this is the guard that keeps a stray character from reaching a client or a header.
    /// </summary>
    public static string Sanitise(string description) =>
        string.Concat(description.Where(c => c is >= ' ' and <= '~' and not '"' and not '\\'));

    /// <summary>RFC 6749 §5.2 <c>invalid_request</c>: missing, repeated or malformed parameter, or more than one authentication method.</summary>
    public static OAuthError InvalidRequest(string description) => new(OAuthErrorCodes.InvalidRequest, description, StatusCodes.Status400BadRequest);

    /// <summary>RFC 6749 §5.2 <c>invalid_client</c>: client authentication failed; always 401.</summary>
    public static OAuthError InvalidClient(string description, bool basicChallenge = false) => new(OAuthErrorCodes.InvalidClient, description, StatusCodes.Status401Unauthorized, basicChallenge);

    /// <summary>RFC 6749 §5.2 <c>unauthorized_client</c>: authenticated, but not allowed this grant now.</summary>
    public static OAuthError UnauthorizedClient(string description) => new(OAuthErrorCodes.UnauthorizedClient, description, StatusCodes.Status400BadRequest);

    /// <summary>RFC 6749 §5.2 <c>unsupported_grant_type</c>.</summary>
    public static OAuthError UnsupportedGrantType(string description) => new(OAuthErrorCodes.UnsupportedGrantType, description, StatusCodes.Status400BadRequest);

    /// <summary>RFC 6749 §5.2 <c>invalid_scope</c>: unknown, malformed, or beyond what this client may hold.</summary>
    public static OAuthError InvalidScope(string description) => new(OAuthErrorCodes.InvalidScope, description, StatusCodes.Status400BadRequest);

    /// <summary>
    /// <c>temporarily_unavailable</c> (RFC 6749 §4.1.2.1, used here at the token endpoint as well): the server cannot
    /// record the issuance or remember an assertion, so it releases nothing rather than release it unrecorded.
    /// </summary>
    public static OAuthError TemporarilyUnavailable(string description) => new(OAuthErrorCodes.TemporarilyUnavailable, description, StatusCodes.Status503ServiceUnavailable);
}

/// <summary>The error codes the token and pushed authorization request endpoints answer with.</summary>
internal static class OAuthErrorCodes
{
    public const string InvalidRequest = "invalid_request";
    public const string InvalidClient = "invalid_client";
    public const string InvalidGrant = "invalid_grant";
    public const string UnauthorizedClient = "unauthorized_client";
    public const string UnsupportedGrantType = "unsupported_grant_type";
    public const string InvalidScope = "invalid_scope";
    public const string TemporarilyUnavailable = "temporarily_unavailable";
    public const string UnsupportedResponseType = "unsupported_response_type";
    public const string InvalidAuthorizationDetails = "invalid_authorization_details";
}
