using System.Buffers;
using System.Collections.Immutable;
using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Checks;

namespace EligibilityGateway.Audit;

/// <summary>
/// How record values are written as text, identically by every store. Every value has exactly one spelling, so
/// that a canonical serialisation of a record (for the hash chain) can be built from what is stored. A change to
/// any spelling here is a new <see cref="CurrentVersion"/>; stored rows keep the version they were written with.
/// </summary>
internal static class AuditRecordFormat
{
    /// <summary>Version of the stored form, kept in every record's <c>format_version</c>.</summary>
    public const int CurrentVersion = 1;

    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    /// <summary>UTC, 100 ns precision, fixed width: sorts as text in time order and round-trips exactly.</summary>
    public static string FormatTime(DateTimeOffset value) =>
        value.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    public static DateTimeOffset ParseTime(string value) =>
        new(DateTime.SpecifyKind(DateTime.ParseExact(value, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.None), DateTimeKind.Utc));

    public static Outcome ParseOutcome(string value) => value switch
    {
        "eligible" => Outcome.Eligible,
        "not-eligible" => Outcome.NotEligible,
        "not-found" => Outcome.NotFound,
        "undetermined" => Outcome.Undetermined,
        _ => throw new FormatException($"Unknown outcome '{value}' in the audit store."),
    };

    public static string StatusName(ProviderCallStatus status) => status switch
    {
        ProviderCallStatus.Eligible => "eligible",
        ProviderCallStatus.NotEligible => "not-eligible",
        ProviderCallStatus.NotFound => "not-found",
        ProviderCallStatus.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    private static ProviderCallStatus ParseStatus(string? value) => value switch
    {
        "eligible" => ProviderCallStatus.Eligible,
        "not-eligible" => ProviderCallStatus.NotEligible,
        "not-found" => ProviderCallStatus.NotFound,
        "failed" => ProviderCallStatus.Failed,
        _ => throw new FormatException($"Unknown provider status '{value}' in the audit store."),
    };

    /// <summary>
    /// <c>[{"providerId":"dwp","status":"eligible","latencyMs":12.3456,"failureReason":null}]</c>, members always in
    /// this order, latency in milliseconds to 100 ns without trailing zeros.
    /// </summary>
    public static string FormatProviderCalls(ImmutableArray<ProviderCall> calls)
    {
        if (calls.IsDefaultOrEmpty)
        {
            return "[]";
        }

        var buffer = new ArrayBufferWriter<byte>(64 * calls.Length);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var call in calls)
            {
                json.WriteStartObject();
                json.WriteString("providerId", call.ProviderId);
                json.WriteString("status", StatusName(call.Status));
                json.WritePropertyName("latencyMs");
                json.WriteRawValue((call.Latency.Ticks / (decimal)TimeSpan.TicksPerMillisecond).ToString("0.####", CultureInfo.InvariantCulture), skipInputValidation: true);
                if (call.FailureReason is null)
                {
                    json.WriteNull("failureReason");
                }
                else
                {
                    json.WriteString("failureReason", call.FailureReason);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static ImmutableArray<ProviderCall> ParseProviderCalls(string value)
    {
        using var document = JsonDocument.Parse(value);
        var calls = ImmutableArray.CreateBuilder<ProviderCall>(document.RootElement.GetArrayLength());
        foreach (var call in document.RootElement.EnumerateArray())
        {
            var failure = call.GetProperty("failureReason");
            calls.Add(new ProviderCall(
                call.GetProperty("providerId").GetString()!,
                ParseStatus(call.GetProperty("status").GetString()),
                TimeSpan.FromTicks((long)(call.GetProperty("latencyMs").GetDecimal() * TimeSpan.TicksPerMillisecond)),
                failure.ValueKind == JsonValueKind.Null ? null : failure.GetString()));
        }

        return calls.MoveToImmutable();
    }

    /// <summary>
    /// What the event released beyond its decision, as one JSON document; null when nothing was. For a check, the
    /// released fields beyond the outcome (<c>{"confirmedBy":["dwp"]}</c>); for an issued token, its id, scope and
    /// expiry (<c>{"tokenId":"…","scope":"check","expiresAt":"…"}</c>). New members come with no schema change.
    /// </summary>
    public static string? FormatReleased(AuditEntry entry)
    {
        if (entry.ConfirmedBy is null && entry.IssuedToken is null)
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>(64);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (entry.ConfirmedBy is { } confirmedBy)
            {
                json.WriteStartArray("confirmedBy");
                foreach (var provider in confirmedBy.IsDefault ? [] : confirmedBy)
                {
                    json.WriteStringValue(provider);
                }

                json.WriteEndArray();
            }

            if (entry.IssuedToken is { } token)
            {
                json.WriteString("tokenId", token.TokenId);
                json.WriteString("scope", token.Scope);
                json.WriteString("expiresAt", FormatTime(token.ExpiresAt));
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The <c>confirmedBy</c> member of a released-fields document, or null when it was not released.</summary>
    public static ImmutableArray<string>? ParseConfirmedBy(string? released)
    {
        if (released is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(released);
        if (!document.RootElement.TryGetProperty("confirmedBy", out var confirmedBy))
        {
            return null;
        }

        return confirmedBy.EnumerateArray().Select(p => p.GetString()!).ToImmutableArray();
    }

    /// <summary>The issued token a released document names, or null when it names none.</summary>
    public static AuditIssuedToken? ParseIssuedToken(string? released)
    {
        if (released is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(released);
        var root = document.RootElement;
        return root.TryGetProperty("tokenId", out var tokenId) && root.TryGetProperty("scope", out var scope) && root.TryGetProperty("expiresAt", out var expiresAt)
            ? new AuditIssuedToken(tokenId.GetString()!, scope.GetString()!, ParseTime(expiresAt.GetString()!))
            : null;
    }

    private static readonly string FormatVersionText = AuditChain.Integer(CurrentVersion);
    private static readonly string ChainVersionText = AuditChain.Integer(AuditChain.CurrentVersion);

    /// <summary>
    /// Writes a new record's stored text into <paramref name="values"/>, one slot per column of
    /// <see cref="AuditChain.CanonicalColumns"/>: what every store inserts and what the chain hash is computed over, so
    /// both stores hash the same bytes. The inverse of <see cref="ReadRecord"/>.
    /// </summary>
    public static void WriteStoredValues(string?[] values, long sequence, string recordedAtText, AuditEntry entry)
    {
        values[0] = AuditChain.Integer(sequence);
        values[1] = FormatVersionText;
        values[2] = recordedAtText;
        values[3] = entry.EventType;
        values[4] = entry.CouncilId;
        values[5] = entry.ClientId;
        values[6] = entry.SchemeId;
        values[7] = entry.Purpose;
        values[8] = entry.LawfulBasis;
        values[9] = entry.ConsentId;
        values[10] = entry.CaseReference;
        values[11] = entry.Decision;
        values[12] = entry.Rule;
        values[13] = entry.Outcome?.ToName();
        values[14] = entry.ServedFrom;
        values[15] = FormatProviderCalls(entry.ProviderCalls);
        values[16] = entry.TraceId;
        values[17] = entry.SubjectReference;
        values[18] = entry.CheckId;
        values[19] = entry.CheckedAt is { } checkedAt ? FormatTime(checkedAt) : null;
        values[20] = entry.ValidUntil is { } validUntil ? FormatTime(validUntil) : null;
        values[21] = FormatReleased(entry);
        values[22] = entry.FrameworkId;
        values[23] = entry.FrameworkVersion;
        values[24] = ChainVersionText;
    }

    /// <summary>
    /// A record from a row whose first 24 columns are <c>sequence, format_version, recorded_at</c> and then the
    /// entry's columns in table order, as every store selects them.
    /// </summary>
    public static AuditRecord ReadRecord(DbDataReader reader)
    {
        var entry = new AuditEntry
        {
            EventType = reader.GetString(3),
            CouncilId = Text(reader, 4),
            ClientId = Text(reader, 5),
            SchemeId = Text(reader, 6),
            Purpose = Text(reader, 7),
            LawfulBasis = Text(reader, 8),
            ConsentId = Text(reader, 9),
            CaseReference = Text(reader, 10),
            Decision = Text(reader, 11),
            Rule = Text(reader, 12),
            Outcome = Text(reader, 13) is { } outcome ? ParseOutcome(outcome) : null,
            ServedFrom = Text(reader, 14),
            ProviderCalls = ParseProviderCalls(reader.GetString(15)),
            TraceId = Text(reader, 16),
            SubjectReference = Text(reader, 17),
            CheckId = Text(reader, 18),
            CheckedAt = Text(reader, 19) is { } checkedAt ? ParseTime(checkedAt) : null,
            ValidUntil = Text(reader, 20) is { } validUntil ? ParseTime(validUntil) : null,
            ConfirmedBy = ParseConfirmedBy(Text(reader, 21)),
            IssuedToken = ParseIssuedToken(Text(reader, 21)),
            FrameworkId = Text(reader, 22),
            FrameworkVersion = Text(reader, 23),
        };
        return new AuditRecord(reader.GetInt64(0), ParseTime(reader.GetString(2)), reader.GetInt32(1), entry);
    }

    /// <summary>A nullable text column.</summary>
    public static string? Text(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
