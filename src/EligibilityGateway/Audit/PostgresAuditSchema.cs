using EligibilityGateway.Storage;

namespace EligibilityGateway.Audit;

/// <summary>
/// The PostgreSQL schema as an ordered list of migrations, each applied once and recorded in
/// <c>audit_schema_migrations</c> by <see cref="PostgresMigrations"/> (under an advisory lock, so that replicas
/// starting together do not both migrate). Migrations are only ever appended, as for SQLite (<see cref="SqliteAuditSchema"/>).
/// </summary>
/// <remarks>
/// The columns that the canonical form covers keep the same text as in SQLite (README.md, "PostgreSQL"): times are
/// the fixed-width UTC text of <see cref="AuditRecordFormat.FormatTime"/>, because <c>timestamptz</c> keeps
/// microseconds and the canonical form has 100-nanosecond ticks; <c>provider_calls</c> is text, because
/// <c>jsonb</c> would reorder and respace it. Integers are <c>bigint</c>/<c>integer</c>, spelled in decimal when hashed.
/// </remarks>
internal static class PostgresAuditSchema
{
    /// <summary>The advisory lock key that serialises migrations between processes starting together.</summary>
    private const long MigrationLock = 0x6567_775f_6d69_6772; // "egw_migr"

    public static PostgresMigrations Schema { get; } = new("audit", "audit_schema_migrations", MigrationLock,
    [
        new(1, "audit records with hash chain, head, signed checkpoints, probe row", """
            CREATE TABLE audit_records (
                sequence          bigint PRIMARY KEY CHECK (sequence > 0),
                format_version    integer NOT NULL,
                recorded_at       text NOT NULL,
                event_type        text NOT NULL,
                council_id        text,
                client_id         text,
                scheme_id         text,
                purpose           text,
                lawful_basis      text,
                consent_id        text,
                case_reference    text,
                decision          text,
                decision_rule     text,
                outcome           text,
                served_from       text,
                provider_calls    text NOT NULL,
                trace_id          text,
                subject_reference text,
                check_id          text,
                checked_at        text,
                valid_until       text,
                released          text,
                framework_id      text,
                framework_version text,
                chain_version     integer NOT NULL,
                hash              text NOT NULL
            );

            -- GET /v1/checks/{id}; partial, so events without a check id cost the index nothing.
            CREATE INDEX audit_records_by_check ON audit_records (check_id) WHERE check_id IS NOT NULL;

            -- The citizen's activity list: ReadSubjectChecksAsync seeks (subject_reference, sequence < cursor)
            -- on this index and reads backwards.
            CREATE INDEX audit_records_by_subject ON audit_records (subject_reference, sequence)
                WHERE subject_reference IS NOT NULL AND event_type = 'check';

            -- The one row every appender locks (SELECT ... FOR UPDATE) before numbering a batch: the sequence and hash
            -- of the last committed record, so that replicas sharing the database append to one gap-free chain.
            CREATE TABLE audit_head (
                id       integer PRIMARY KEY CHECK (id = 1),
                sequence bigint NOT NULL,
                hash     text NOT NULL
            );
            INSERT INTO audit_head (id, sequence, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

            CREATE TABLE audit_checkpoints (
                sequence            bigint PRIMARY KEY,
                head_hash           text NOT NULL,
                issued_at           text NOT NULL,
                previous_checkpoint bigint,
                key_id              text NOT NULL,
                jws                 text NOT NULL
            );

            -- Records and checkpoints are appended, never changed.
            CREATE FUNCTION audit_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit % are never updated', TG_ARGV[0];
            END
            $$;
            CREATE TRIGGER audit_records_never_updated BEFORE UPDATE ON audit_records
                FOR EACH ROW EXECUTE FUNCTION audit_refuse_update('records');
            CREATE TRIGGER audit_checkpoints_never_updated BEFORE UPDATE ON audit_checkpoints
                FOR EACH ROW EXECUTE FUNCTION audit_refuse_update('checkpoints');

            -- One row the readiness probe rewrites to prove the store can commit, outside the audit records.
            CREATE TABLE audit_probe (
                id        integer PRIMARY KEY CHECK (id = 1),
                probed_at text NOT NULL
            );
            """),
        new(2, "auditor reads by council, subject and time", """
            -- The auditor API (IAuditStore.QueryAsync): a council auditor's every read is scoped to its council, subject
            -- search covers every event type, and time ranges compare recorded_at as its fixed-width UTC text, byte-wise.
            CREATE INDEX audit_records_by_council_sequence ON audit_records (council_id, sequence);
            CREATE INDEX audit_records_by_subject_sequence ON audit_records (subject_reference, sequence) WHERE subject_reference IS NOT NULL;
            CREATE INDEX audit_records_by_recorded_at ON audit_records (recorded_at COLLATE "C");
            """),
    ]);
}
