using System.Collections.Immutable;
using EligibilityGateway.Storage;
using Microsoft.Data.Sqlite;

namespace EligibilityGateway.Consents;

/// <summary>
/// Consent records in one SQLite file (the default store), beside the audit log but apart from it: WAL, so checks read
/// while a transition writes, and <c>synchronous=FULL</c>, so a revocation that returned has reached the disk.
/// Times are stored as UTC ticks, so expiry is compared in SQL without parsing. Each operation is one statement on
/// a pooled connection; SQLite serialises writers and the busy timeout absorbs the wait.
/// </summary>
internal sealed class SqliteConsentStore : IConsentStore
{
    private const string Columns =
        "consent_id, council_id, client_id, scheme_id, purpose, case_reference, providers, released, framework_id, framework_version, " +
        "status, created_at, expires_at, authorised_at, rejected_at, revoked_at, revoked_by, subject_reference, sealed_subject, usage_count, last_used_at";

    private readonly SqliteDatabase database;

    public SqliteConsentStore(string path, TimeSpan busyTimeout) => database = new SqliteDatabase("consent", path, busyTimeout);

    /// <summary>The database file.</summary>
    public string Location => database.Path;

    public ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        database.Initialize(SchemaVersion, Schema);
        return ValueTask.CompletedTask;
    }

    public async ValueTask InsertAsync(Consent consent, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO consents ({Columns}) VALUES ($consent_id, $council_id, $client_id, $scheme_id, $purpose, $case_reference, $providers,
                $released, $framework_id, $framework_version, $status, $created_at, $expires_at, $authorised_at, $rejected_at, $revoked_at,
                $revoked_by, $subject_reference, $sealed_subject, $usage_count, $last_used_at);
            """;
        command.Parameters.AddWithValue("$consent_id", consent.ConsentId);
        command.Parameters.AddWithValue("$council_id", consent.CouncilId);
        command.Parameters.AddWithValue("$client_id", consent.ClientId);
        command.Parameters.AddWithValue("$scheme_id", consent.SchemeId);
        command.Parameters.AddWithValue("$purpose", consent.Purpose);
        command.Parameters.AddWithValue("$case_reference", consent.CaseReference);
        command.Parameters.AddWithValue("$providers", string.Join(' ', consent.Providers));
        command.Parameters.AddWithValue("$released", string.Join(' ', consent.Released));
        command.Parameters.AddWithValue("$framework_id", consent.FrameworkId);
        command.Parameters.AddWithValue("$framework_version", consent.FrameworkVersion);
        command.Parameters.AddWithValue("$created_at", consent.CreatedAt.UtcTicks);
        command.Parameters.AddWithValue("$expires_at", consent.ExpiresAt.UtcTicks);
        command.Parameters.AddWithValue("$usage_count", consent.UsageCount);
        command.Parameters.AddWithValue("$last_used_at", Ticks(consent.LastUsedAt));
        AddState(command, consent);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask<bool> DeleteUnansweredAsync(string consentId, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM consents WHERE consent_id = $consent_id AND status = $status AND usage_count = 0;";
        command.Parameters.AddWithValue("$consent_id", consentId);
        command.Parameters.AddWithValue("$status", ConsentStatusNames.AwaitingAuthorisation);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async ValueTask<Consent?> FindAsync(string consentId, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM consents WHERE consent_id = $consent_id;";
        command.Parameters.AddWithValue("$consent_id", consentId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async ValueTask<bool> TryChangeStateAsync(string consentId, ConsentStatus expected, Consent to, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE consents SET status = $status, authorised_at = $authorised_at, rejected_at = $rejected_at, revoked_at = $revoked_at,
                revoked_by = $revoked_by, subject_reference = $subject_reference, sealed_subject = $sealed_subject
            WHERE consent_id = $consent_id AND status = $expected;
            """;
        command.Parameters.AddWithValue("$consent_id", consentId);
        command.Parameters.AddWithValue("$expected", expected.ToName());
        AddState(command, to);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async ValueTask<long?> TryCountUseAsync(string consentId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        // One statement: the state test and the increment cannot be split by a revocation.
        command.CommandText = """
            UPDATE consents SET usage_count = usage_count + 1, last_used_at = $now
            WHERE consent_id = $consent_id AND status = $authorised AND expires_at > $now
            RETURNING usage_count;
            """;
        command.Parameters.AddWithValue("$consent_id", consentId);
        command.Parameters.AddWithValue("$authorised", ConsentStatusNames.Authorised);
        command.Parameters.AddWithValue("$now", now.UtcTicks);
        var count = await command.ExecuteScalarAsync(cancellationToken);
        return count is long value ? value : null;
    }

    public async ValueTask<IReadOnlyList<Consent>> ListBySubjectReferenceAsync(string subjectReference, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subjectReference);
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        // consents_by_subject serves this; the account shows every consent a citizen has, so there is no limit.
        command.CommandText = $"SELECT {Columns} FROM consents WHERE subject_reference = $subject_reference ORDER BY created_at DESC, consent_id DESC;";
        command.Parameters.AddWithValue("$subject_reference", subjectReference);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var consents = new List<Consent>();
        while (await reader.ReadAsync(cancellationToken))
        {
            consents.Add(Read(reader));
        }

        return consents;
    }

    private const int SchemaVersion = 1;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS consents (
            consent_id        TEXT PRIMARY KEY,
            council_id        TEXT NOT NULL,
            client_id         TEXT NOT NULL,
            scheme_id         TEXT NOT NULL,
            purpose           TEXT NOT NULL,
            case_reference    TEXT NOT NULL,
            providers         TEXT NOT NULL,
            released          TEXT NOT NULL,
            framework_id      TEXT NOT NULL,
            framework_version TEXT NOT NULL,
            status            TEXT NOT NULL CHECK (status IN ('awaiting-authorisation', 'authorised', 'rejected', 'revoked', 'expired')),
            created_at        INTEGER NOT NULL,
            expires_at        INTEGER NOT NULL,
            authorised_at     INTEGER,
            rejected_at       INTEGER,
            revoked_at        INTEGER,
            revoked_by        TEXT,
            subject_reference TEXT,
            sealed_subject    BLOB,
            usage_count       INTEGER NOT NULL DEFAULT 0,
            last_used_at      INTEGER
        ) STRICT;

        -- The citizen's account lists the consents bound to them, found by subject reference.
        CREATE INDEX IF NOT EXISTS consents_by_subject ON consents (subject_reference) WHERE subject_reference IS NOT NULL;

        PRAGMA user_version = 1;
        """;

    private static void AddState(SqliteCommand command, Consent consent)
    {
        command.Parameters.AddWithValue("$status", consent.Status.ToName());
        command.Parameters.AddWithValue("$authorised_at", Ticks(consent.AuthorisedAt));
        command.Parameters.AddWithValue("$rejected_at", Ticks(consent.RejectedAt));
        command.Parameters.AddWithValue("$revoked_at", Ticks(consent.RevokedAt));
        command.Parameters.AddWithValue("$revoked_by", (object?)consent.RevokedBy ?? DBNull.Value);
        command.Parameters.AddWithValue("$subject_reference", (object?)consent.SubjectReference ?? DBNull.Value);
        command.Parameters.Add("$sealed_subject", SqliteType.Blob).Value = (object?)consent.SealedSubject ?? DBNull.Value;
    }

    private static object Ticks(DateTimeOffset? value) => value is { } instant ? instant.UtcTicks : DBNull.Value;

    private static Consent Read(SqliteDataReader reader)
    {
        var status = reader.GetString(10);
        if (!ConsentStatusNames.TryParse(status, out var parsed))
        {
            throw new InvalidOperationException($"Consent {reader.GetString(0)} has an unknown status '{status}'.");
        }

        return new Consent
        {
            ConsentId = reader.GetString(0),
            CouncilId = reader.GetString(1),
            ClientId = reader.GetString(2),
            SchemeId = reader.GetString(3),
            Purpose = reader.GetString(4),
            CaseReference = reader.GetString(5),
            Providers = Split(reader.GetString(6)),
            Released = Split(reader.GetString(7)),
            FrameworkId = reader.GetString(8),
            FrameworkVersion = reader.GetString(9),
            Status = parsed,
            CreatedAt = Instant(reader, 11)!.Value,
            ExpiresAt = Instant(reader, 12)!.Value,
            AuthorisedAt = Instant(reader, 13),
            RejectedAt = Instant(reader, 14),
            RevokedAt = Instant(reader, 15),
            RevokedBy = reader.IsDBNull(16) ? null : reader.GetString(16),
            SubjectReference = reader.IsDBNull(17) ? null : reader.GetString(17),
            SealedSubject = reader.IsDBNull(18) ? null : (byte[])reader.GetValue(18),
            UsageCount = reader.GetInt64(19),
            LastUsedAt = Instant(reader, 20),
        };
    }

    private static ImmutableArray<string> Split(string value) => [.. value.Split(' ', StringSplitOptions.RemoveEmptyEntries)];

    private static DateTimeOffset? Instant(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : new DateTimeOffset(reader.GetInt64(ordinal), TimeSpan.Zero);

    // synchronous=FULL on every connection: a committed transition is on disk before the caller hears of it.
    private SqliteConnection Open() => database.Open();
}
