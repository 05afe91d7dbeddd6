using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Audit;

/// <summary>
/// A signed statement that the log held <see cref="Sequence"/> records whose chain ended in <see cref="HeadHash"/>
/// at <see cref="IssuedAt"/> (README.md). <see cref="Jws"/> is the evidence; the other members repeat its payload
/// for queries, and a verifier trusts only the signed payload.
/// </summary>
/// <param name="PreviousCheckpoint">The sequence of the checkpoint before this one, or null for the first.</param>
internal sealed record AuditCheckpoint(long Sequence, string HeadHash, DateTimeOffset IssuedAt, long? PreviousCheckpoint, string KeyId, string Jws);

/// <summary>The last checkpoint a store holds: where the next one continues from.</summary>
internal readonly record struct AuditCheckpointMark(long Sequence, DateTimeOffset IssuedAt);

/// <summary>
/// Decides when a checkpoint is due and signs it: every <see cref="EveryRecords"/> records or once
/// <see cref="Interval"/> has passed since the last one, whichever comes first, and on shutdown. The store calls it
/// inside its write transaction, so checkpoints are issued in sequence order even when several processes share the
/// log, and each names the checkpoint before it as that transaction saw it.
/// </summary>
internal sealed class AuditCheckpointIssuer
{
    /// <summary>The JOSE header <c>typ</c> of a checkpoint, so that a checkpoint is never mistaken for a token.</summary>
    public const string MediaType = "egw-audit-checkpoint+jws";

    private readonly ECDsa key;
    private readonly string encodedHeader;
    private readonly DateTimeOffset startedAt;

    public AuditCheckpointIssuer(ECDsaSecurityKey signingKey, AuditCheckpointOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(signingKey);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        key = signingKey.ECDsa;
        KeyId = signingKey.KeyId;
        EveryRecords = options.EveryRecords;
        Interval = options.Interval;
        startedAt = timeProvider.GetUtcNow();
        var header = new ArrayBufferWriter<byte>(128);
        using (var json = new Utf8JsonWriter(header, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("alg", SecurityAlgorithms.EcdsaSha256);
            json.WriteString("kid", KeyId);
            json.WriteString("typ", MediaType);
            json.WriteEndObject();
        }

        encodedHeader = Base64Url.EncodeToString(header.WrittenSpan);
    }

    public string KeyId { get; }

    public int EveryRecords { get; }

    public TimeSpan Interval { get; }

    /// <summary>True when the head at <paramref name="headSequence"/> has gone unsigned for long enough.</summary>
    /// <param name="force">On shutdown: any unsigned record is enough.</param>
    public bool IsDue(long headSequence, AuditCheckpointMark? last, DateTimeOffset now, bool force)
    {
        var signedUpTo = last?.Sequence ?? 0;
        if (headSequence <= signedUpTo)
        {
            return false;
        }

        return force || headSequence - signedUpTo >= EveryRecords || now - (last?.IssuedAt ?? startedAt) >= Interval;
    }

    /// <summary>Signs a checkpoint: compact JWS, ES256, over <c>{sequence, headHash, issuedAt, previousCheckpoint?}</c>.</summary>
    public AuditCheckpoint Sign(long sequence, string headHash, DateTimeOffset issuedAt, long? previousCheckpoint)
    {
        var payload = new ArrayBufferWriter<byte>(160);
        using (var json = new Utf8JsonWriter(payload))
        {
            json.WriteStartObject();
            json.WriteNumber("sequence", sequence);
            json.WriteString("headHash", headHash);
            json.WriteString("issuedAt", AuditRecordFormat.FormatTime(issuedAt));
            if (previousCheckpoint is { } previous)
            {
                json.WriteNumber("previousCheckpoint", previous);
            }

            json.WriteEndObject();
        }

        var signingInput = encodedHeader + "." + Base64Url.EncodeToString(payload.WrittenSpan);
        // RFC 7518 §3.4: the ES256 signature is R || S, 32 bytes each, which is .NET's IEEE P1363 format.
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return new AuditCheckpoint(sequence, headHash, AuditRecordFormat.ParseTime(AuditRecordFormat.FormatTime(issuedAt)), previousCheckpoint, KeyId, signingInput + "." + Base64Url.EncodeToString(signature));
    }
}

/// <summary>What a checkpoint's signed payload says, once its signature has been verified.</summary>
internal readonly record struct VerifiedCheckpoint(long Sequence, string HeadHash, DateTimeOffset IssuedAt, long? PreviousCheckpoint, string KeyId);

/// <summary>Verifies checkpoint signatures against a JWKS (the audit keys the gateway publishes).</summary>
internal sealed class AuditCheckpointVerifier
{
    private readonly Dictionary<string, ECDsa> keys = new(StringComparer.Ordinal);

    /// <param name="jwks">A JWK Set (RFC 7517 §5); EC P-256 keys with a <c>kid</c> are used, others ignored.</param>
    public AuditCheckpointVerifier(string jwks)
    {
        JsonWebKeySet set;
        try
        {
            set = new JsonWebKeySet(jwks);
        }
        catch (Exception ex) when (ex is ArgumentException or JsonException)
        {
            throw new FormatException($"The audit key set is not a JWK Set: {ex.Message}", ex);
        }

        foreach (var jwk in set.Keys)
        {
            if (jwk.Kty != JsonWebAlgorithmsKeyTypes.EllipticCurve || jwk.Crv != JsonWebKeyECTypes.P256 || string.IsNullOrEmpty(jwk.KeyId)
                || string.IsNullOrEmpty(jwk.X) || string.IsNullOrEmpty(jwk.Y))
            {
                continue;
            }

            try
            {
                keys[jwk.KeyId] = ECDsa.Create(new ECParameters
                {
                    Curve = ECCurve.NamedCurves.nistP256,
                    Q = new ECPoint { X = Base64UrlEncoder.DecodeBytes(jwk.X), Y = Base64UrlEncoder.DecodeBytes(jwk.Y) },
                });
            }
            catch (Exception ex) when (ex is CryptographicException or FormatException or ArgumentException)
            {
                throw new FormatException($"Audit key '{jwk.KeyId}' is not a valid EC P-256 public key: {ex.Message}", ex);
            }
        }
    }

    /// <summary>The key ids this verifier trusts.</summary>
    public IReadOnlyCollection<string> KeyIds => keys.Keys;

    /// <summary>The checkpoint's signed payload, or the reason it cannot be trusted.</summary>
    public bool TryVerify(string jws, out VerifiedCheckpoint checkpoint, out string reason)
    {
        checkpoint = default;
        var parts = jws.Split('.');
        if (parts.Length != 3)
        {
            reason = "is not a compact JWS";
            return false;
        }

        try
        {
            using var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0]));
            if (!header.RootElement.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String || alg.GetString() != SecurityAlgorithms.EcdsaSha256)
            {
                reason = "is not signed with ES256";
                return false;
            }

            if (!header.RootElement.TryGetProperty("kid", out var kidElement) || kidElement.ValueKind != JsonValueKind.String)
            {
                reason = "names no key (kid)";
                return false;
            }

            var kid = kidElement.GetString()!;
            if (!keys.TryGetValue(kid, out var key))
            {
                reason = $"is signed by key '{kid}', which is not in the audit key set";
                return false;
            }

            var signature = Base64Url.DecodeFromChars(parts[2]);
            if (signature.Length != 64 || !key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
            {
                reason = $"has a signature that key '{kid}' did not make";
                return false;
            }

            using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
            var root = payload.RootElement;
            long? previous = root.TryGetProperty("previousCheckpoint", out var p) && p.ValueKind == JsonValueKind.Number ? p.GetInt64() : null;
            checkpoint = new VerifiedCheckpoint(
                root.GetProperty("sequence").GetInt64(),
                root.GetProperty("headHash").GetString() ?? throw new FormatException("headHash is null"),
                AuditRecordFormat.ParseTime(root.GetProperty("issuedAt").GetString() ?? throw new FormatException("issuedAt is null")),
                previous,
                kid);
            reason = "";
            return true;
        }
        catch (Exception ex) when (ex is FormatException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            reason = "has a malformed header or payload";
            return false;
        }
    }
}
