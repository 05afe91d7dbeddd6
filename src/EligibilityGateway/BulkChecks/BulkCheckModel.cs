using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using EligibilityGateway.Audit;
using EligibilityGateway.Checks;
using EligibilityGateway.Security;

namespace EligibilityGateway.BulkChecks;

/// <summary>A job's status (README.md, "Status").</summary>
internal static class BulkJobStatus
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Cancelled = "cancelled";
}

/// <summary>An item's state in the store. <c>claimed</c> is internal: the API shows it as <c>pending</c>.</summary>
internal static class BulkItemState
{
    public const string Pending = "pending";

    /// <summary>Handed to a worker under the job's lease; after a lease changes hands it is looked up in the audit log first.</summary>
    public const string Claimed = "claimed";

    /// <summary>Checked: an outcome, recorded in the audit log under the item's check id.</summary>
    public const string Completed = "completed";

    /// <summary>Not checked because the trust framework in force when its turn came denied it (recorded, with the rule).</summary>
    public const string Failed = "failed";

    /// <summary>A row that broke a validation rule when the job was submitted; never checked.</summary>
    public const string Invalid = "invalid";

    /// <summary>Not checked because the job was cancelled first.</summary>
    public const string Cancelled = "cancelled";
}

/// <summary>A bulk job as stored: who asked, what for, where it stands, and who holds its lease.</summary>
internal sealed record BulkJob(
    string JobId,
    string CouncilId,
    string ClientId,
    string SchemeId,
    string LawfulBasis,
    string? TraceId,
    string Status,
    int Total,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset? PurgeAfter);

/// <summary>How many items of a job are in each state, and the outcomes of the checked ones.</summary>
internal sealed record BulkCounts(int Pending, int Completed, int Failed, int Invalid, int Cancelled, int Eligible, int NotEligible, int NotFound, int Undetermined)
{
    /// <summary>The counts from a store's <c>GROUP BY state, outcome</c>: claimed items count as pending.</summary>
    public static BulkCounts From(IEnumerable<(string State, string? Outcome, int Count)> groups)
    {
        int pending = 0, completed = 0, failed = 0, invalid = 0, cancelled = 0, eligible = 0, notEligible = 0, notFound = 0, undetermined = 0;
        foreach (var (state, outcome, count) in groups)
        {
            switch (state)
            {
                case BulkItemState.Pending or BulkItemState.Claimed: pending += count; break;
                case BulkItemState.Failed: failed += count; break;
                case BulkItemState.Invalid: invalid += count; break;
                case BulkItemState.Cancelled: cancelled += count; break;
                case BulkItemState.Completed:
                    completed += count;
                    switch (outcome)
                    {
                        case "eligible": eligible += count; break;
                        case "not-eligible": notEligible += count; break;
                        case "not-found": notFound += count; break;
                        default: undetermined += count; break;
                    }

                    break;
            }
        }

        return new BulkCounts(pending, completed, failed, invalid, cancelled, eligible, notEligible, notFound, undetermined);
    }
}

/// <summary>A new item to store: its row, the check id it will be recorded under, the case reference and the sealed subject (null for an invalid row).</summary>
internal sealed record NewBulkItem(int Row, string? CheckId, string? CaseReference, byte[]? SealedSubject, string? Errors);

/// <summary>An item a worker has claimed, with its subject still sealed.</summary>
internal sealed record ClaimedBulkItem(int Row, string CheckId, string CaseReference, byte[] SealedSubject);

/// <summary>What came of one item, written after its audit record is committed.</summary>
internal sealed record BulkItemResult(
    int Row,
    string State,
    Outcome? Outcome,
    string? ServedFrom,
    DateTimeOffset? CheckedAt,
    DateTimeOffset? ValidUntil,
    ImmutableArray<string>? ConfirmedBy,
    long? AuditSequence,
    string? Rule)
{
    /// <summary>The result of an item recovered from its committed audit record.</summary>
    public static BulkItemResult FromAudit(int row, StoredCheck stored) => new(
        row, BulkItemState.Completed, stored.Outcome, stored.ServedFrom, stored.CheckedAt, stored.ValidUntil, stored.ConfirmedBy, stored.AuditSequence, null);
}

/// <summary>One row of a job's results, as read back.</summary>
internal sealed record BulkResultRow(
    int Row,
    string? CaseReference,
    string? CheckId,
    string State,
    string? Outcome,
    string? ServedFrom,
    DateTimeOffset? CheckedAt,
    DateTimeOffset? ValidUntil,
    string? ConfirmedBy,
    long? AuditSequence,
    string? Rule,
    string? Errors);

/// <summary>
/// Seals a bulk item's subject with AES-256-GCM (<see cref="SealedEnvelope"/>) under a key derived by HKDF-SHA256 from
/// the consent encryption key with its own label, so the two uses never share a key. The job id and row are the
/// associated data, so a sealed subject moved to another row does not open. Plaintext: <c>kind (1) ‖ date of birth as
/// day number (4, big-endian) ‖ (length (2) ‖ UTF-8)</c> for the identifier and the surname.
/// </summary>
internal sealed class BulkSubjectProtector(KeyRing keyRing)
{
    private const byte FormatVersion = 1;

    private readonly byte[] key = HKDF.DeriveKey(HashAlgorithmName.SHA256, keyRing.ConsentEncryptionKey, 32, salt: [], info: "eligibility-gateway/bulk-subject/v1"u8.ToArray());

    public byte[] Seal(string jobId, int row, Subject subject)
    {
        var identifier = Encoding.UTF8.GetBytes(subject.Identifier);
        var surname = Encoding.UTF8.GetBytes(subject.LastName);
        var plaintext = new byte[1 + 4 + 2 + identifier.Length + 2 + surname.Length];
        try
        {
            plaintext[0] = subject.IdentifierKind == IdentifierKind.NationalInsuranceNumber ? (byte)1 : (byte)2;
            BinaryPrimitives.WriteInt32BigEndian(plaintext.AsSpan(1), subject.DateOfBirth.DayNumber);
            BinaryPrimitives.WriteUInt16BigEndian(plaintext.AsSpan(5), (ushort)identifier.Length);
            identifier.CopyTo(plaintext, 7);
            BinaryPrimitives.WriteUInt16BigEndian(plaintext.AsSpan(7 + identifier.Length), (ushort)surname.Length);
            surname.CopyTo(plaintext, 9 + identifier.Length);
            return SealedEnvelope.Seal(key, FormatVersion, plaintext, AssociatedData(jobId, row));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    public Subject? Open(string jobId, int row, byte[] sealedValue)
    {
        if (SealedEnvelope.Open(key, FormatVersion, sealedValue, AssociatedData(jobId, row)) is not { } plaintext)
        {
            return null;
        }

        try
        {
            var span = plaintext.AsSpan();
            var kind = span[0] == 1 ? IdentifierKind.NationalInsuranceNumber : IdentifierKind.NationalAsylumSeekerServiceNumber;
            var dateOfBirth = DateOnly.FromDayNumber(BinaryPrimitives.ReadInt32BigEndian(span[1..]));
            var identifierLength = BinaryPrimitives.ReadUInt16BigEndian(span[5..]);
            var identifier = Encoding.UTF8.GetString(span.Slice(7, identifierLength));
            var surnameLength = BinaryPrimitives.ReadUInt16BigEndian(span[(7 + identifierLength)..]);
            var surname = Encoding.UTF8.GetString(span.Slice(9 + identifierLength, surnameLength));
            return new Subject(kind, identifier, surname, dateOfBirth);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private static byte[] AssociatedData(string jobId, int row) => Encoding.UTF8.GetBytes($"eligibility-gateway/bulk-subject/v1|{jobId}|{row}");
}
