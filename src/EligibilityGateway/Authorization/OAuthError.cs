namespace EligibilityGateway.Authorization;

/// <summary>RFC 6749 §5.2 error descriptions written by the gateway's own code (its Bearer challenges, its server handlers).</summary>
internal static class OAuthError
{
    /// <summary>
    /// RFC 6749 §5.2 and RFC 6750 §3: <c>error_description</c> holds only %x20-21 / %x23-5B / %x5D-7E. Descriptions are
    /// written that way; this is the guard that keeps a stray character (say, a parameter name a client sent) from
    /// reaching a client or a header.
    /// </summary>
    public static string Sanitise(string description) =>
        string.Concat(description.Where(c => c is >= ' ' and <= '~' and not '"' and not '\\'));
}

/// <summary>The error codes the authorization server answers with (RFC 6749 §5.2, RFC 9396 §5), as the contract names them.</summary>
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
