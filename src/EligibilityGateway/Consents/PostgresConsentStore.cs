using System.Collections.Immutable;
using System.Globalization;
using EligibilityGateway.Storage;
using Npgsql;
using static EligibilityGateway.Storage.PostgresDataSources;

namespace EligibilityGateway.Consents;

/// <summary>
/// Consent records in PostgreSQL (when <c>Consents:Postgres:ConnectionString</c> is set; README.md), shared by every
/// gateway replica, so a consent authorised through one replica is usable, and once revoked refused, on all of them.
/// The statements are those of <see cref="SqliteConsentStore"/>: a transition is one <c>UPDATE … WHERE status =
/// expected</c>, and counting a use one <c>UPDATE … WHERE status = 'authorised' AND expires_at &gt; now RETURNING</c>.
/// Under PostgreSQL's read-committed isolation a second writer of the same row waits for the first to commit and then
/// tests its <c>WHERE</c> against the row the first left, so of a revocation and a use racing on two replicas either
/// the use is counted before the revocation or refused after it, never half. Times are UTC ticks (<c>bigint</c>),
/// exact to the 100 ns a <see cref="DateTimeOffset"/> holds, as in SQLite. Each commit returns once flushed
/// (<c>synchronous_commit=on</c> on every connection).
/// </summary>
internal sealed class PostgresConsentStore(string connectionString, TimeProvider timeProvider)
    : PostgresStore(connectionString, Schema, timeProvider), IConsentStore
{
    private const string Columns =
        "consent_id, council_id, client_id, scheme_id, purpose, case_reference, providers, released, framework_id, framework_version, " +
        "status, created_at, expires_at, authorised_at, rejected_at, revoked_at, revoked_by, subject_reference, sealed_subject, usage_count, last_used_at";

    /// <summary>The advisory lock key that serialises consent migrations between replicas starting together.</summary>
    private const long MigrationLock = 0x6567_775f_636f_6e73; // "egw_cons"

    /// <summary>The consent schema in PostgreSQL, recorded in <c>consent_schema_migrations</c>; steps are only appended.</summary>
    internal static PostgresMigrations Schema { get; } = new("consent", "consent_schema_migrations", MigrationLock,
    [
        new(1, "consents with sealed subjects, usage counts and the citizen's index", """
            CREATE TABLE consents (
                consent_id        text PRIMARY KEY,
                council_id        text NOT NULL,
                client_id         text NOT NULL,
                scheme_id         text NOT NULL,
                purpose           text NOT NULL,
                case_reference    text NOT NULL,
                providers         text NOT NULL,
                released          text NOT NULL,
                framework_id      text NOT NULL,
                framework_version text NOT NULL,
                status            text NOT NULL CHECK (status IN ('awaiting-authorisation', 'authorised', 'rejected', 'revoked', 'expired')),
                created_at        bigint NOT NULL,
                expires_at        bigint NOT NULL,
                authorised_at     bigint,
                rejected_at       bigint,
                revoked_at        bigint,
                revoked_by        text,
                subject_reference text,
                sealed_subject    bytea,
                usage_count       bigint NOT NULL DEFAULT 0,
                last_used_at      bigint
            );

            -- The citizen's account lists the consents bound to them, found by subject reference.
            CREATE INDEX consents_by_subject ON consents (subject_reference) WHERE subject_reference IS NOT NULL;
            """),
    ]);

    public async ValueTask InsertAsync(Consent consent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(consent);
        await using var command = DataSource.CreateCommand($"""
            INSERT INTO consents ({Columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21);
            """);
        var p = command.Parameters;
        p.Add(Text(consent.ConsentId));
        p.Add(Text(consent.CouncilId));
        p.Add(Text(consent.ClientId));
        p.Add(Text(consent.SchemeId));
        p.Add(Text(consent.Purpose));
        p.Add(Text(consent.CaseReference));
        p.Add(Text(string.Join(' ', consent.Providers)));
        p.Add(Text(string.Join(' ', consent.Released)));
        p.Add(Text(consent.FrameworkId));
        p.Add(Text(consent.FrameworkVersion));
        p.Add(Text(consent.Status.ToName()));
        p.Add(Ticks(consent.CreatedAt));
        p.Add(Ticks(consent.ExpiresAt));
        p.Add(Ticks(consent.AuthorisedAt));
        p.Add(Ticks(consent.RejectedAt));
        p.Add(Ticks(consent.RevokedAt));
        p.Add(Text(consent.RevokedBy));
        p.Add(Text(consent.SubjectReference));
        p.Add(Bytes(consent.SealedSubject));
        p.Add(new NpgsqlParameter<long> { TypedValue = consent.UsageCount });
        p.Add(Ticks(consent.LastUsedAt));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask<bool> DeleteUnansweredAsync(string consentId, CancellationToken cancellationToken)
    {
        await using var command = DataSource.CreateCommand("DELETE FROM consents WHERE consent_id = $1 AND status = $2 AND usage_count = 0;");
        command.Parameters.Add(Text(consentId));
        command.Parameters.Add(Text(ConsentStatusNames.AwaitingAuthorisation));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async ValueTask<Consent?> FindAsync(string consentId, CancellationToken cancellationToken)
    {
        await using var command = DataSource.CreateCommand($"SELECT {Columns} FROM consents WHERE consent_id = $1;");
        command.Parameters.Add(Text(consentId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async ValueTask<bool> TryChangeStateAsync(string consentId, ConsentStatus expected, Consent to, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(to);
        await using var command = DataSource.CreateCommand("""
            UPDATE consents SET status = $3, authorised_at = $4, rejected_at = $5, revoked_at = $6, revoked_by = $7,
                subject_reference = $8, sealed_subject = $9
            WHERE consent_id = $1 AND status = $2;
            """);
        var p = command.Parameters;
        p.Add(Text(consentId));
        p.Add(Text(expected.ToName()));
        p.Add(Text(to.Status.ToName()));
        p.Add(Ticks(to.AuthorisedAt));
        p.Add(Ticks(to.RejectedAt));
        p.Add(Ticks(to.RevokedAt));
        p.Add(Text(to.RevokedBy));
        p.Add(Text(to.SubjectReference));
        p.Add(Bytes(to.SealedSubject));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async ValueTask<long?> TryCountUseAsync(string consentId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // One statement: the state test and the increment cannot be split by a revocation on any replica.
        await using var command = DataSource.CreateCommand("""
            UPDATE consents SET usage_count = usage_count + 1, last_used_at = $3
            WHERE consent_id = $1 AND status = $2 AND expires_at > $3
            RETURNING usage_count;
            """);
        command.Parameters.Add(Text(consentId));
        command.Parameters.Add(Text(ConsentStatusNames.Authorised));
        command.Parameters.Add(Ticks(now));
        var count = await command.ExecuteScalarAsync(cancellationToken);
        return count is long value ? value : null;
    }

    public async ValueTask<IReadOnlyList<Consent>> ListBySubjectReferenceAsync(string subjectReference, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subjectReference);

        // consents_by_subject serves this; the account shows every consent a citizen has, so there is no limit.
        await using var command = DataSource.CreateCommand($"SELECT {Columns} FROM consents WHERE subject_reference = $1 ORDER BY created_at DESC, consent_id DESC;");
        command.Parameters.Add(Text(subjectReference));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var consents = new List<Consent>();
        while (await reader.ReadAsync(cancellationToken))
        {
            consents.Add(Read(reader));
        }

        return consents;
    }


    private static Consent Read(NpgsqlDataReader reader)
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
            SealedSubject = reader.IsDBNull(18) ? null : reader.GetFieldValue<byte[]>(18),
            UsageCount = reader.GetInt64(19),
            LastUsedAt = Instant(reader, 20),
        };
    }

    private static ImmutableArray<string> Split(string value) => [.. value.Split(' ', StringSplitOptions.RemoveEmptyEntries)];
}
