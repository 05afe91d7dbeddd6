using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using EligibilityGateway.TrustFramework;
using Microsoft.Extensions.Primitives;

namespace EligibilityGateway.Authorization;

/// <summary>
/// <c>client_secret_basic</c> (RFC 6749 §2.3.1): client id and secret, each form-urlencoded, in HTTP Basic
/// (RFC 7617). Accepted only from clients of a <c>sandbox: true</c> framework. Every refusal is
/// <c>invalid_client</c> with a Basic challenge, as RFC 6749 §5.2 requires when the header was used. Failures are
/// counted per client id and per address (<see cref="ClientAuthenticationThrottle"/>); a throttled attempt gets the
/// same refusal with <c>Retry-After</c>, before its secret is compared.
/// </summary>
internal sealed class ClientSecretBasicAuthenticator(VerifiedSecretCache verifiedSecrets, ClientAuthenticationThrottle throttle, ILogger<ClientSecretBasicAuthenticator> logger)
{
    public const string Method = ClientAuthentication.ClientSecretBasicMethod;

    /// <summary>The description of a throttled attempt's <c>invalid_client</c>.</summary>
    public const string ThrottledDescription = "Too many failed client authentications; try again after the Retry-After delay.";

    public async ValueTask<ClientAuthenticationResult> AuthenticateAsync(TokenRequest request, TrustFrameworkSnapshot framework, CancellationToken cancellationToken)
    {
        if (!TryReadCredentials(request.Authorization!, out var clientId, out var secret, out var error))
        {
            return ClientAuthenticationResult.Failed(Method, error);
        }

        // RFC 6749 §2.3.1 puts the client id in the header; one also sent in the body must name the same client.
        if (request.ClientId is { } bodyClientId && !string.Equals(bodyClientId, clientId, StringComparison.Ordinal))
        {
            return ClientAuthenticationResult.Failed(Method, OAuthError.InvalidRequest("client_id in the body differs from the client authenticated in the Authorization header."));
        }

        // Unknown client ids are counted like known ones, so the throttle tells nothing about which exist.
        if (await throttle.CheckAsync(clientId, request.RemoteAddress, cancellationToken) is { Allowed: false } throttled)
        {
            return Throttled(throttled);
        }

        var result = Verify(clientId, secret, framework);
        if (result.Client is null)
        {
            await throttle.RecordFailureAsync(clientId, request.RemoteAddress, cancellationToken);
            return result;
        }

        // A right secret that raced other guesses past the limit is refused like them.
        var succeeded = await throttle.SucceedAsync(clientId, request.RemoteAddress, cancellationToken);
        return succeeded.Allowed ? result : Throttled(succeeded);
    }

    /// <summary>RFC 6749 §5.2: a client that used the <c>Authorization</c> header gets <c>invalid_client</c>, 401, with a Basic challenge.</summary>
    private ClientAuthenticationResult Throttled(ThrottleDecision decision)
    {
        Log.ClientAuthenticationThrottled(logger, decision.RefusedBy!, decision.RetryAfterSeconds);
        return ClientAuthenticationResult.Failed(Method, OAuthError.InvalidClient(ThrottledDescription, basicChallenge: true) with { RetryAfterSeconds = decision.RetryAfterSeconds });
    }

    private ClientAuthenticationResult Verify(string clientId, string secret, TrustFrameworkSnapshot framework)
    {
        if (!OAuthClient.TryFind(framework, clientId, out var client))
        {
            return ClientAuthenticationResult.Failed(Method, OAuthError.InvalidClient("Client authentication failed.", basicChallenge: true));
        }

        if (RequireSandboxFramework(framework) is { } notSandbox)
        {
            return ClientAuthenticationResult.Failed(Method, notSandbox);
        }

        if (client.Authentication is not ClientSecretBasicAuthentication registered)
        {
            return ClientAuthenticationResult.Failed(Method, OAuthError.InvalidClient($"This client authenticates with {client.Authentication.Method}.", basicChallenge: true));
        }

        return verifiedSecrets.Verify(client.ClientId, registered.SecretHash, secret)
            ? ClientAuthenticationResult.Succeeded(client, Method)
            : ClientAuthenticationResult.Failed(Method, OAuthError.InvalidClient("Client authentication failed.", basicChallenge: true));
    }

    /// <summary>
    /// Shared secrets only in a sandbox. The loader already refuses secret hashes in other frameworks;
    /// checking here as well means a secret is never even compared outside a sandbox.
    /// </summary>
    private static OAuthError? RequireSandboxFramework(TrustFrameworkSnapshot framework) =>
        framework.Definition.Sandbox
            ? null
            : OAuthError.InvalidClient("client_secret_basic is accepted only from clients of a sandbox trust framework; use private_key_jwt.", basicChallenge: true);

    /// <summary>RFC 7617 §2 and RFC 6749 §2.3.1: <c>Basic base64(urlencode(id) ":" urlencode(secret))</c>.</summary>
    private static bool TryReadCredentials(string header, out string clientId, out string secret, out OAuthError error)
    {
        clientId = secret = string.Empty;
        error = OAuthError.InvalidClient("The Authorization header must be HTTP Basic with form-urlencoded client id and secret (RFC 6749 section 2.3.1).", basicChallenge: true);
        if (!AuthenticationHeaderValue.TryParse(header, out var value)
            || !string.Equals(value.Scheme, "Basic", StringComparison.OrdinalIgnoreCase)
            || value.Parameter is not { Length: > 0 and <= 4096 } parameter)
        {
            return false;
        }

        var buffer = new byte[parameter.Length];
        if (!Convert.TryFromBase64String(parameter, buffer, out var length))
        {
            return false;
        }

        string decoded;
        try
        {
            decoded = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(buffer, 0, length);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }

        clientId = FormDecode(decoded[..colon]);
        secret = FormDecode(decoded[(colon + 1)..]);
        return clientId.Length > 0 && secret.Length > 0;
    }

    private static string FormDecode(string value) => Uri.UnescapeDataString(value.Replace('+', ' '));
}

/// <summary>
/// Remembers, per client, the last secret that verified, so the token endpoint pays PBKDF2 (milliseconds) once
/// rather than on every request (its target is 4,000 tokens a second). Holds an HMAC-SHA256 of the secret under a
/// key drawn at random when the process starts, never the secret; compares in constant time. An entry counts only
/// while the framework in force holds the very <see cref="SecretHash"/> it was verified against, and the whole map is
/// dropped when the framework reloads, so a changed or removed secret stops working at once.
/// </summary>
internal sealed class VerifiedSecretCache : IDisposable
{
    /// <summary>One entry per client at most; more clients than this simply verify by PBKDF2 each time.</summary>
    public const int Capacity = 4096;

    private readonly byte[] key = RandomNumberGenerator.GetBytes(32);
    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);
    private readonly IDisposable reloadSubscription;
    private readonly ILogger<VerifiedSecretCache> logger;

    public VerifiedSecretCache(TrustFrameworkMonitor monitor, ILogger<VerifiedSecretCache> logger)
    {
        this.logger = logger;
        reloadSubscription = ChangeToken.OnChange(monitor.GetReloadToken, Forget);
    }

    /// <summary>How many clients have a remembered verification (for tests and diagnostics).</summary>
    public int Count => entries.Count;

    /// <summary>True when <paramref name="secret"/> matches <paramref name="hash"/>, from memory when it can.</summary>
    public bool Verify(string clientId, SecretHash hash, string secret)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(secret), mac);
        if (entries.TryGetValue(clientId, out var entry)
            && ReferenceEquals(entry.Hash, hash)
            && CryptographicOperations.FixedTimeEquals(entry.Mac, mac))
        {
            return true;
        }

        if (!hash.Verify(secret))
        {
            return false;
        }

        if (entries.Count < Capacity || entries.ContainsKey(clientId))
        {
            entries[clientId] = new Entry(hash, mac.ToArray());
        }

        return true;
    }

    private void Forget()
    {
        var count = entries.Count;
        entries.Clear();
        if (count > 0)
        {
            Log.VerifiedSecretsForgotten(logger, count);
        }
    }

    public void Dispose() => reloadSubscription.Dispose();

    private sealed record Entry(SecretHash Hash, byte[] Mac);
}
