using EligibilityGateway.TrustFramework;

namespace EligibilityGateway.Authorization;

/// <summary>The outcome of client authentication: the client, or the refusal.</summary>
internal readonly record struct ClientAuthenticationResult(OAuthClient? Client, string Method, OAuthError? Error)
{
    public static ClientAuthenticationResult Succeeded(OAuthClient client, string method) => new(client, method, null);

    public static ClientAuthenticationResult Failed(string method, OAuthError error) => new(null, method, error);
}

/// <summary>
/// Decides which way a client is authenticating and hands the request to that method (RFC 6749 §2.3).
/// Two methods exist: <c>private_key_jwt</c> (RFC 7523 §2.2, §3) everywhere, and <c>client_secret_basic</c>
/// (RFC 6749 §2.3.1) for clients of a sandbox framework only.
/// </summary>
internal sealed class ClientAuthenticator(PrivateKeyJwtAuthenticator privateKeyJwt, ClientSecretBasicAuthenticator clientSecretBasic)
{
    /// <summary>Logged when the request named no usable method.</summary>
    public const string NoMethod = "none";

    public async ValueTask<ClientAuthenticationResult> AuthenticateAsync(TokenRequest request, TrustFrameworkSnapshot framework, CancellationToken cancellationToken)
    {
        var usesHeader = request.Authorization is not null;
        var usesSecretInBody = request.ClientSecret is not null;
        var usesAssertion = request.ClientAssertion is not null || request.ClientAssertionType is not null;

        // RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
        if ((usesHeader ? 1 : 0) + (usesSecretInBody ? 1 : 0) + (usesAssertion ? 1 : 0) > 1)
        {
            return ClientAuthenticationResult.Failed(NoMethod, OAuthError.InvalidRequest("More than one client authentication method was used (RFC 6749 section 2.3)."));
        }

        if (usesAssertion)
        {
            return await privateKeyJwt.AuthenticateAsync(request, framework, cancellationToken);
        }

        if (usesHeader)
        {
            return await clientSecretBasic.AuthenticateAsync(request, framework, cancellationToken);
        }

        if (usesSecretInBody)
        {
            // client_secret_post (RFC 6749 §2.3.1 "NOT RECOMMENDED") is not offered: secrets travel only in the header.
            return ClientAuthenticationResult.Failed("client_secret_post", OAuthError.InvalidClient("client_secret_post is not supported; use private_key_jwt (or client_secret_basic in a sandbox)."));
        }

        // A client_id alone is a public client; every client here is confidential (RFC 6749 §3.2.1).
        return ClientAuthenticationResult.Failed(NoMethod, OAuthError.InvalidClient("Client authentication is required (RFC 6749 section 3.2.1).", basicChallenge: framework.Definition.Sandbox));
    }
}
