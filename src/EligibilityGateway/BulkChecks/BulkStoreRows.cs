using System.Data.Common;

namespace EligibilityGateway.BulkChecks;

/// <summary>
/// The column lists and row mapping both bulk-check stores share: the tables have the same columns in SQLite and
/// PostgreSQL (times as UTC ticks, <c>confirmed_by</c> as space-separated provider ids), so one reader fits both.
/// </summary>
internal static class BulkStoreRows
{
    public const string JobColumns = "job_id, council_id, client_id, scheme_id, lawful_basis, trace_id, status, total, created_at, started_at, finished_at, purge_after";

    public const string ClaimedColumns = "row_number, check_id, case_reference, sealed_subject";

    public const string ResultColumns = "row_number, case_reference, check_id, state, outcome, served_from, checked_at, valid_until, confirmed_by, audit_sequence, rule, errors";

    /// <summary>A job from <see cref="JobColumns"/>.</summary>
    public static BulkJob Job(DbDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetString(3),
        reader.GetString(4),
        Text(reader, 5),
        reader.GetString(6),
        reader.GetInt32(7),
        Time(reader, 8)!.Value,
        Time(reader, 9),
        Time(reader, 10),
        Time(reader, 11));

    /// <summary>A claimed item from <see cref="ClaimedColumns"/>.</summary>
    public static ClaimedBulkItem Claimed(DbDataReader reader) =>
        new(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<byte[]>(3));

    /// <summary>A result row from <see cref="ResultColumns"/>.</summary>
    public static BulkResultRow Result(DbDataReader reader) => new(
        reader.GetInt32(0),
        Text(reader, 1),
        Text(reader, 2),
        reader.GetString(3),
        Text(reader, 4),
        Text(reader, 5),
        Time(reader, 6),
        Time(reader, 7),
        Text(reader, 8),
        reader.IsDBNull(9) ? null : reader.GetInt64(9),
        Text(reader, 10),
        Text(reader, 11));

    /// <summary>How <c>confirmed_by</c> is stored: the provider ids separated by spaces.</summary>
    public static string? ConfirmedBy(BulkItemResult result) => result.ConfirmedBy is { } by ? string.Join(' ', by) : null;

    public static string? Text(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static DateTimeOffset? Time(DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : new DateTimeOffset(reader.GetInt64(ordinal), TimeSpan.Zero);
}
