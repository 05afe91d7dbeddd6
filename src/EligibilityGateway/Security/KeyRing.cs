using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Security;

/// <summary>
/// Every key the gateway holds, loaded once at start-up from one directory (a Kubernetes Secret mounted as
/// files in production; <c>.sandbox/keys</c>, generated on first run, in the sandbox). Replicas that share the
/// directory compute the same subject references and cache keys and accept each other's tokens.
/// Layout and rotation: <c>Security/README.md</c>.
/// </summary>
internal sealed class KeyRing
{
    internal const string SigningKeyPrefix = "token-signing-";
    internal const string SubjectReferenceFile = "subject-reference.key";
    internal const string CacheIndexFile = "cache-index.key";
    internal const string CacheEncryptionFile = "cache-encryption.key";
    internal const string ConsentEncryptionFile = "consent-encryption.key";
    internal const string AuditSigningFile = "audit-signing.json";
    internal const string AuditSigningPrefix = "audit-signing-";
    private const int SymmetricKeyBytes = 32;

    private KeyRing(ImmutableArray<ECDsaSecurityKey> signingKeys, ECDsaSecurityKey activeSigningKey, byte[] subjectReferenceKey, byte[] cacheIndexKey, byte[] cacheEncryptionKey, byte[] consentEncryptionKey, ECDsaSecurityKey auditSigningKey, ImmutableArray<ECDsaSecurityKey> auditKeys)
    {
        AuditSigningKey = auditSigningKey;
        AuditKeys = auditKeys;
        SigningKeys = signingKeys;
        ActiveSigningKey = activeSigningKey;
        SubjectReferenceKey = subjectReferenceKey;
        CacheIndexKey = cacheIndexKey;
        CacheEncryptionKey = cacheEncryptionKey;
        ConsentEncryptionKey = consentEncryptionKey;
    }

    /// <summary>Every token-signing key, all published in the JWKS so tokens signed before a rotation still verify.</summary>
    public ImmutableArray<ECDsaSecurityKey> SigningKeys { get; }

    /// <summary>The key new tokens are signed with (ES256).</summary>
    public ECDsaSecurityKey ActiveSigningKey { get; }

    /// <summary>HMAC-SHA256 key for subject references: the only form in which a person's identity is stored.</summary>
    public byte[] SubjectReferenceKey { get; }

    /// <summary>HMAC-SHA256 key that turns cache lookups into opaque Redis keys.</summary>
    public byte[] CacheIndexKey { get; }

    /// <summary>AES-256-GCM key for cached values.</summary>
    public byte[] CacheEncryptionKey { get; }

    /// <summary>AES-256-GCM key for the consented subject's identifiers kept with an authorised consent.</summary>
    public byte[] ConsentEncryptionKey { get; }

    /// <summary>
    /// The key audit checkpoints are signed with (ES256). Separate from the token-signing keys so that rotating those
    /// never touches the audit evidence, and so that an auditor trusts one key for one purpose.
    /// </summary>
    public ECDsaSecurityKey AuditSigningKey { get; }

    /// <summary>
    /// Every audit key, the active one (<see cref="AuditSigningKey"/>) first, then the others in descending file-name
    /// order: keys retired by a rotation (kept so that the checkpoints they signed still verify) and a key published
    /// ahead of becoming active. Only the active one signs; the others may be public halves only.
    /// </summary>
    public ImmutableArray<ECDsaSecurityKey> AuditKeys { get; }

    /// <summary>The public halves of the signing keys, as published at <c>/connect/jwks</c>.</summary>
    public IEnumerable<JsonWebKey> PublicSigningKeys() => SigningKeys.Select(PublicHalf);

    /// <summary>
    /// The public halves of every audit key, active first (<see cref="AuditKeys"/>), as published at
    /// <c>/v1/audit/jwks</c>: checkpoints signed before a rotation keep verifying online and offline.
    /// </summary>
    public IEnumerable<JsonWebKey> PublicAuditKeys() => AuditKeys.Select(PublicHalf);

    private static JsonWebKey PublicHalf(ECDsaSecurityKey key)
    {
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(key.ECDsa.ExportParameters(includePrivateParameters: false))) { KeyId = key.KeyId });
        jwk.Use = "sig";
        jwk.Alg = SecurityAlgorithms.EcdsaSha256;
        return jwk;
    }

    /// <summary>Loads the ring, generating missing keys only when <see cref="KeyRingOptions.GenerateIfMissing"/> allows it.</summary>
    /// <exception cref="KeyRingException">A key is missing or malformed; the message names the file.</exception>
    public static KeyRing Load(KeyRingOptions options)
    {
        var directory = Path.GetFullPath(options.Directory!);
        if (options.GenerateIfMissing)
        {
            PrivateFiles.CreateDirectory(directory);
            GenerateMissing(directory);
        }
        else if (!Directory.Exists(directory))
        {
            throw new KeyRingException($"Key directory '{directory}' does not exist (Keys:Directory).");
        }

        var signing = Directory.GetFiles(directory, SigningKeyPrefix + "*.json")
            .Order(StringComparer.Ordinal)
            .Select(ReadSigningKey)
            .ToImmutableArray();
        if (signing.IsEmpty)
        {
            throw new KeyRingException($"No token-signing key ({SigningKeyPrefix}*.json) in '{directory}'.");
        }

        var active = options.ActiveSigningKeyId is { } kid
            ? signing.FirstOrDefault(k => k.KeyId == kid) ?? throw new KeyRingException($"Keys:ActiveSigningKeyId '{kid}' names no key in '{directory}'.")
            : signing[^1];

        var (auditActive, auditKeys) = ReadAuditKeys(directory, options.ActiveAuditSigningKeyId);
        return new KeyRing(
            signing,
            active,
            ReadSymmetric(Path.Combine(directory, SubjectReferenceFile)),
            ReadSymmetric(Path.Combine(directory, CacheIndexFile)),
            ReadSymmetric(Path.Combine(directory, CacheEncryptionFile)),
            ReadSymmetric(Path.Combine(directory, ConsentEncryptionFile)),
            auditActive,
            auditKeys);
    }

    /// <summary>
    /// Writes a new private EC P-256 JWK, named by its thumbprint, to <paramref name="file"/> in
    /// <paramref name="directory"/> (owner read/write only; an existing file is never overwritten) and returns its
    /// <c>kid</c>. For generating missing keys and for the rotation procedure in <c>Security/README.md</c>.
    /// </summary>
    internal static string WriteNewSigningKey(string directory, string file) => WriteSigningKey(directory, file);

    /// <summary>
    /// <c>audit-signing.json</c> and every <c>audit-signing-*.json</c>. The active key is the one
    /// <paramref name="activeKeyId"/> names, or the one in <c>audit-signing.json</c>; it must hold its private half.
    /// The others are published for verification only, so a public JWK is enough for them.
    /// </summary>
    private static (ECDsaSecurityKey Active, ImmutableArray<ECDsaSecurityKey> All) ReadAuditKeys(string directory, string? activeKeyId)
    {
        var mainFile = Path.Combine(directory, AuditSigningFile);
        var main = File.Exists(mainFile) ? ReadVerificationKey(mainFile) : null;
        var others = Directory.GetFiles(directory, AuditSigningPrefix + "*.json")
            .Order(StringComparer.Ordinal)
            .Reverse()
            .Select(ReadVerificationKey)
            .ToList();
        if (main is null && activeKeyId is null)
        {
            throw new KeyRingException($"Key file '{mainFile}' is missing (the audit checkpoint signing key, a private EC P-256 JWK).");
        }

        var all = (main is null ? others : [main, .. others]).ToList();
        var duplicate = all.GroupBy(k => k.KeyId, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new KeyRingException($"Two audit key files in '{directory}' hold the kid '{duplicate.Key}'.");
        }

        var active = activeKeyId is null ? main!
            : all.FirstOrDefault(k => k.KeyId == activeKeyId) ?? throw new KeyRingException($"Keys:ActiveAuditSigningKeyId '{activeKeyId}' names no audit key ({AuditSigningFile} or {AuditSigningPrefix}*.json) in '{directory}'.");
        if (!HasPrivateHalf(active))
        {
            throw new KeyRingException($"The active audit key '{active.KeyId}' in '{directory}' has no private half, so it cannot sign checkpoints.");
        }

        all.Remove(active);
        return (active, [active, .. all]);
    }

    private static void GenerateMissing(string directory)
    {
        if (Directory.GetFiles(directory, SigningKeyPrefix + "*.json").Length == 0)
        {
            // Two keys from the start, so that rotation (publish, switch, retire) is exercised from day one.
            _ = WriteSigningKey(directory, $"{SigningKeyPrefix}1.json");
            _ = WriteSigningKey(directory, $"{SigningKeyPrefix}2.json");
        }

        // Only when the deployment has no audit key at all: after a rotation audit-signing.json may be gone, and a new
        // key nobody published must not appear in its place.
        if (!File.Exists(Path.Combine(directory, AuditSigningFile)) && Directory.GetFiles(directory, AuditSigningPrefix + "*.json").Length == 0)
        {
            _ = WriteSigningKey(directory, AuditSigningFile);
        }

        foreach (var file in new[] { SubjectReferenceFile, CacheIndexFile, CacheEncryptionFile, ConsentEncryptionFile })
        {
            var path = Path.Combine(directory, file);
            if (!File.Exists(path))
            {
                WriteSecretFile(path, Convert.ToBase64String(RandomNumberGenerator.GetBytes(SymmetricKeyBytes)));
            }
        }
    }

    private static string WriteSigningKey(string directory, string file)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ecdsa));
        jwk.KeyId = Base64UrlEncoder.Encode(jwk.ComputeJwkThumbprint());
        var json = JsonSerializer.Serialize(new { kty = jwk.Kty, crv = jwk.Crv, x = jwk.X, y = jwk.Y, d = jwk.D, kid = jwk.KeyId });
        WriteSecretFile(Path.Combine(directory, file), json);
        return jwk.KeyId;
    }

    private static void WriteSecretFile(string path, string content)
    {
        // Owner read/write only; written whole before it becomes visible under its name.
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, content);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.Move(temporary, path, overwrite: false);
    }

    private static ECDsaSecurityKey ReadSigningKey(string path)
    {
        try
        {
            var jwk = new JsonWebKey(File.ReadAllText(path));
            if (jwk.Kty != JsonWebAlgorithmsKeyTypes.EllipticCurve || jwk.Crv != JsonWebKeyECTypes.P256 || string.IsNullOrEmpty(jwk.D) || string.IsNullOrEmpty(jwk.KeyId))
            {
                throw new KeyRingException($"Signing key '{path}' must be a private EC P-256 JWK with a kid.");
            }

            var ecdsa = ECDsa.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = Base64UrlEncoder.DecodeBytes(jwk.X), Y = Base64UrlEncoder.DecodeBytes(jwk.Y) },
                D = Base64UrlEncoder.DecodeBytes(jwk.D),
            });
            return new ECDsaSecurityKey(ecdsa) { KeyId = jwk.KeyId };
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or CryptographicException or JsonException)
        {
            throw new KeyRingException($"Signing key '{path}' is not a valid JWK: {ex.Message}", ex);
        }
    }

    private static bool HasPrivateHalf(ECDsaSecurityKey key)
    {
        try
        {
            return key.ECDsa.ExportParameters(includePrivateParameters: true).D is { Length: > 0 };
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>An EC P-256 JWK with a kid, private or public: an audit key that may only verify.</summary>
    private static ECDsaSecurityKey ReadVerificationKey(string path)
    {
        try
        {
            var jwk = new JsonWebKey(File.ReadAllText(path));
            if (jwk.Kty != JsonWebAlgorithmsKeyTypes.EllipticCurve || jwk.Crv != JsonWebKeyECTypes.P256 || string.IsNullOrEmpty(jwk.KeyId))
            {
                throw new KeyRingException($"Audit key '{path}' must be an EC P-256 JWK with a kid.");
            }

            if (!string.IsNullOrEmpty(jwk.D))
            {
                return ReadSigningKey(path);
            }

            var ecdsa = ECDsa.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = Base64UrlEncoder.DecodeBytes(jwk.X), Y = Base64UrlEncoder.DecodeBytes(jwk.Y) },
            });
            return new ECDsaSecurityKey(ecdsa) { KeyId = jwk.KeyId };
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or CryptographicException or JsonException)
        {
            throw new KeyRingException($"Audit key '{path}' is not a valid JWK: {ex.Message}", ex);
        }
    }

    private static byte[] ReadSymmetric(string path)
    {
        if (!File.Exists(path))
        {
            throw new KeyRingException($"Key file '{path}' is missing.");
        }

        var bytes = Convert.TryFromBase64String(File.ReadAllText(path).Trim(), new byte[64], out var written) ? written : -1;
        if (bytes != SymmetricKeyBytes)
        {
            throw new KeyRingException($"Key file '{path}' must hold {SymmetricKeyBytes} random bytes in base64.");
        }

        return Convert.FromBase64String(File.ReadAllText(path).Trim());
    }
}

/// <summary>Where the keys live (configuration section <c>Keys</c>).</summary>
public sealed class KeyRingOptions
{
    /// <value>The key directory. Required.</value>
    public string? Directory { get; set; }

    /// <value>Create missing keys on start. Default false: production keys are provisioned, never invented; the sandbox sets it.</value>
    public bool GenerateIfMissing { get; set; }

    /// <value>The <c>kid</c> new tokens are signed with. Default: the key whose file name sorts last.</value>
    public string? ActiveSigningKeyId { get; set; }

    /// <value>
    /// The <c>kid</c> new audit checkpoints (and consent receipts) are signed with: a key in <c>audit-signing.json</c> or
    /// an <c>audit-signing-*.json</c> file. Default: the key in <c>audit-signing.json</c>. Rotation: <c>Security/README.md</c>.
    /// </value>
    public string? ActiveAuditSigningKeyId { get; set; }
}

/// <summary>A key the gateway needs is missing or malformed; the message names the file. Start-up stops.</summary>
public sealed class KeyRingException : Exception
{
    public KeyRingException(string message)
        : base(message)
    {
    }

    public KeyRingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
