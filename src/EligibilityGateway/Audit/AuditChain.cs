using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace EligibilityGateway.Audit;

/// <summary>
/// The tamper-evident chain: each record's <c>hash</c> is SHA-256 over its canonical form followed by the
/// previous record's hash; the first record follows <see cref="Genesis"/>. README.md, "Chain", is the byte-exact
/// specification a verifier in any language can follow; this class is its only implementation in the gateway, used
/// by the writer, the migration that chains older rows, and <see cref="AuditVerifier"/>.
/// </summary>
internal static class AuditChain
{
    /// <summary>Version of the canonical form, kept in every record's <c>chain_version</c>.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Bytes in a hash.</summary>
    public const int HashBytes = 32;

    /// <summary>Hex characters in a stored hash.</summary>
    public const int HashChars = 2 * HashBytes;

    /// <summary>
    /// The stored columns that the canonical form covers, in canonical order: every column of <c>audit_records</c>
    /// except <c>hash</c>. The first 24 are the record as written since schema version 1; <c>chain_version</c> came
    /// with the chain and is covered too, so that a row cannot be moved to another canonical form unnoticed.
    /// </summary>
    public static readonly ImmutableArray<string> CanonicalColumns =
    [
        "sequence", "format_version", "recorded_at", "event_type", "council_id", "client_id", "scheme_id", "purpose",
        "lawful_basis", "consent_id", "case_reference", "decision", "decision_rule", "outcome", "served_from",
        "provider_calls", "trace_id", "subject_reference", "check_id", "checked_at", "valid_until", "released",
        "framework_id", "framework_version", "chain_version",
    ];

    /// <summary>Every column of <c>audit_records</c>, in export order: the canonical columns, then <c>hash</c>.</summary>
    public static readonly ImmutableArray<string> AllColumns = [.. CanonicalColumns, "hash"];

    /// <summary>Index of <c>chain_version</c> in <see cref="CanonicalColumns"/>.</summary>
    public const int ChainVersionIndex = 24;

    /// <summary>Index of <c>sequence</c> and <c>format_version</c>, the two integer columns besides <c>chain_version</c>.</summary>
    public const int SequenceIndex = 0;

    public const int FormatVersionIndex = 1;

    /// <summary>The hash the first record follows: 32 zero bytes.</summary>
    public static ReadOnlySpan<byte> Genesis => new byte[HashBytes];

    /// <summary>The hex form of <see cref="Genesis"/>.</summary>
    public static readonly string GenesisHex = new('0', HashChars);

    private static ReadOnlySpan<byte> DomainLabel => "eligibility-gateway/audit-record/v1"u8;

    private const byte NullMarker = 0x00;
    private const byte ValueMarker = 0x01;

    /// <summary>
    /// Writes the canonical form of a version-1 record to <paramref name="destination"/>: the domain label, then for
    /// each of <see cref="CanonicalColumns"/> either <c>0x00</c> (NULL) or <c>0x01</c>, the value's UTF-8 length as
    /// four bytes big-endian, and the UTF-8 bytes. Integers are given in their decimal spelling.
    /// </summary>
    /// <param name="values">The stored values as text, one per canonical column, NULL as null.</param>
    public static void WriteCanonical(IReadOnlyList<string?> values, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(destination);
        if (values.Count != CanonicalColumns.Length)
        {
            throw new ArgumentException($"A record has {CanonicalColumns.Length} canonical values.", nameof(values));
        }

        destination.Write(DomainLabel);
        foreach (var value in values)
        {
            if (value is null)
            {
                destination.GetSpan(1)[0] = NullMarker;
                destination.Advance(1);
                continue;
            }

            var length = Encoding.UTF8.GetByteCount(value);
            var span = destination.GetSpan(5 + length);
            span[0] = ValueMarker;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
            Encoding.UTF8.GetBytes(value, span[5..]);
            destination.Advance(5 + length);
        }
    }

    /// <summary>
    /// <c>SHA-256(canonical(values) || previous)</c> into <paramref name="hash"/>. <paramref name="scratch"/> is
    /// cleared and reused so that the writer allocates nothing per record.
    /// </summary>
    public static void ComputeHash(IReadOnlyList<string?> values, ReadOnlySpan<byte> previous, ArrayBufferWriter<byte> scratch, Span<byte> hash)
    {
        ArgumentNullException.ThrowIfNull(scratch);
        if (previous.Length != HashBytes)
        {
            throw new ArgumentException($"A previous hash has {HashBytes} bytes.", nameof(previous));
        }

        scratch.ResetWrittenCount();
        WriteCanonical(values, scratch);
        scratch.Write(previous);
        SHA256.HashData(scratch.WrittenSpan, hash);
    }

    /// <summary>Lower-case hex, as the <c>hash</c> column and checkpoints hold it.</summary>
    public static string ToHex(ReadOnlySpan<byte> hash) => Convert.ToHexStringLower(hash);

    /// <summary>Parses a stored hash; false unless it is exactly 64 lower-case hex digits.</summary>
    public static bool TryParseHex(string? hex, Span<byte> hash)
    {
        if (hex is null || hex.Length != HashChars || hash.Length != HashBytes)
        {
            return false;
        }

        foreach (var c in hex)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return Convert.FromHexString(hex, hash, out _, out var written) == OperationStatus.Done && written == HashBytes;
    }

    /// <summary>The decimal spelling of an integer column in the canonical form.</summary>
    public static string Integer(long value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// One row of <c>audit_records</c> exactly as stored, for verification and export: every value as its stored text
/// (integers in decimal), in <see cref="AuditChain.CanonicalColumns"/> order, plus the stored hash. Reading the
/// stored text rather than a parsed <see cref="AuditRecord"/> means that a verifier hashes what is on disk, not
/// what the gateway would make of it.
/// </summary>
internal sealed record AuditChainRow(long Sequence, ImmutableArray<string?> Values, string? Hash)
{
    /// <summary>The stored <c>chain_version</c>, or null when the row has none.</summary>
    public int? ChainVersion => int.TryParse(Values[AuditChain.ChainVersionIndex], NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
}
