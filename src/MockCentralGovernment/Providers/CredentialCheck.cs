using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MockCentralGovernment.Configuration;

namespace MockCentralGovernment.Providers;

/// <summary>
/// Holds the SHA-256 of each configured credential and checks a presented bearer credential against one of them in
/// constant time (<see cref="CryptographicOperations.FixedTimeEquals"/> over equal-length digests, so neither the
/// content nor the length of the secret leaks through timing).
/// </summary>
internal sealed class CredentialVerifier
{
    private const int MaxCredentialLength = 512;
    private readonly byte[][] _providerHashes;
    private readonly byte[]? _controlHash;

    public CredentialVerifier(IOptions<MockGovernmentOptions> options)
    {
        var value = options.Value;
        _providerHashes = [.. ProviderKinds.All.Select(p => SHA256.HashData(Encoding.UTF8.GetBytes(value.Providers.For(p).Credential)))];
        _controlHash = string.IsNullOrEmpty(value.Control.Credential) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(value.Control.Credential));
    }

    public bool ControlRequiresCredential => _controlHash is not null;

    public bool IsProviderCredential(ProviderKind provider, ReadOnlySpan<char> presented) => Matches(_providerHashes[(int)provider], presented);

    public bool IsControlCredential(ReadOnlySpan<char> presented) => _controlHash is null || Matches(_controlHash, presented);

    private static bool Matches(byte[] expectedHash, ReadOnlySpan<char> presented)
    {
        if (presented.Length is 0 or > MaxCredentialLength)
        {
            return false;
        }

        var rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(presented.Length));
        try
        {
            var length = Encoding.UTF8.GetBytes(presented, rented);
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(rented.AsSpan(0, length), hash);
            return CryptographicOperations.FixedTimeEquals(hash, expectedHash);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The credential of <c>Authorization: Bearer &lt;credential&gt;</c> (scheme case-insensitive, RFC 9110 §11.1), or empty.</summary>
    public static ReadOnlySpan<char> BearerCredential(HttpRequest request, out bool presented)
    {
        var header = request.Headers.Authorization;
        presented = header.Count > 0;
        if (header.Count != 1 || header[0] is not { } value)
        {
            return [];
        }

        var span = value.AsSpan().Trim();
        const string Scheme = "Bearer ";
        return span.Length > Scheme.Length && span.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)
            ? span[Scheme.Length..].Trim()
            : [];
    }
}

/// <summary>
/// Endpoint filters that refuse calls without the right bearer credential. Missing, malformed, wrong and another
/// provider's credential all get 401 with a <c>WWW-Authenticate: Bearer</c> challenge (RFC 6750 §3): the credential
/// identifies the caller to this provider, so an unknown one is an authentication failure, not a 403.
/// </summary>
internal static class CredentialCheck
{
    public static TBuilder RequireProviderCredential<TBuilder>(this TBuilder builder, ProviderKind provider)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilterFactory((factoryContext, next) =>
        {
            var verifier = factoryContext.ApplicationServices.GetRequiredService<CredentialVerifier>();
            var logger = factoryContext.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(CredentialCheck).FullName!);
            var realm = provider.Slug();
            return invocation =>
            {
                var credential = CredentialVerifier.BearerCredential(invocation.HttpContext.Request, out var presented);
                if (verifier.IsProviderCredential(provider, credential))
                {
                    return next(invocation);
                }

                Log.CredentialRejected(logger, realm, presented);
                return ValueTask.FromResult<object?>(Problems.Unauthorized(invocation.HttpContext, realm, presented));
            };
        });

    public static TBuilder RequireControlCredential<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilterFactory((factoryContext, next) =>
        {
            var verifier = factoryContext.ApplicationServices.GetRequiredService<CredentialVerifier>();
            if (!verifier.ControlRequiresCredential)
            {
                return next;
            }

            var logger = factoryContext.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(CredentialCheck).FullName!);
            return invocation =>
            {
                var credential = CredentialVerifier.BearerCredential(invocation.HttpContext.Request, out var presented);
                if (verifier.IsControlCredential(credential))
                {
                    return next(invocation);
                }

                Log.CredentialRejected(logger, "control", presented);
                return ValueTask.FromResult<object?>(Problems.Unauthorized(invocation.HttpContext, "control", presented));
            };
        });
}
