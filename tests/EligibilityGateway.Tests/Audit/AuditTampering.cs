using System.Buffers;
using EligibilityGateway.Audit;
using EligibilityGateway.Security;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Tests.Audit;

/// <summary>
/// What an attacker with write access to the database file can do: the update trigger is no obstacle to them, so
/// every tampering here starts by dropping it and then edits the file with plain SQL.
/// </summary>
internal static class AuditTampering
{
    /// <summary>The log every tampering test starts from: 25 records, checkpoints every 10 and one on shutdown (at 25).</summary>
    public const int Records = 25;

    public static readonly Dictionary<string, string?> CheckpointEveryTen = new()
    {
        ["Audit:Checkpoints:EveryRecords"] = "10",
        ["Audit:Checkpoints:Interval"] = "01:00:00",
    };

    /// <summary>Writes <see cref="Records"/> checks one after another (record n is check n), closes the log, and returns its directory.</summary>
    /// <param name="storeSettings">Settings that select another store than the default SQLite file.</param>
    public static async Task<AuditTestLog> WriteClosedLogAsync(IDictionary<string, string?>? storeSettings = null)
    {
        var settings = new Dictionary<string, string?>(CheckpointEveryTen);
        foreach (var (key, value) in storeSettings ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var audit = await AuditTestLog.CreateAsync(settings: settings);
        for (var i = 1; i <= Records; i++)
        {
            await audit.Log.AppendAsync(AuditTestLog.Check(i));
        }

        await audit.CloseAsync();
        SqliteConnection.ClearAllPools();
        return audit;
    }

    /// <summary>The public audit key set of the key ring in <paramref name="keyDirectory"/>, as the gateway publishes it.</summary>
    /// <param name="activeAuditKeyId">After a rotation, the kid the deployment sets as <c>Keys:ActiveAuditSigningKeyId</c>.</param>
    public static string PublicKeySet(string keyDirectory, string? activeAuditKeyId = null) =>
        System.Text.Encoding.UTF8.GetString(AuditKeySet.Serialize(KeyRing.Load(new KeyRingOptions { Directory = keyDirectory, ActiveAuditSigningKeyId = activeAuditKeyId }).PublicAuditKeys()));

    /// <summary>A tampering by name, and the sequence verification must name for it.</summary>
    public static readonly TheoryData<string, long> Cases = new()
    {
        { "change-one-field", 7 },
        { "delete-a-record", 12 },
        { "delete-a-record-and-renumber", 12 },
        { "insert-a-record", 10 },
        { "swap-two-records", 14 },
        { "truncate-the-tail-after-a-checkpoint", 16 },
        { "rewrite-the-chain-after-a-record-changed", 11 },
        { "delete-the-oldest-records-up-to-a-checkpoint", 1 },
    };

    public static void Apply(string tampering, string databasePath)
    {
        using var connection = Open(databasePath);
        Execute(connection, "DROP TRIGGER audit_records_never_updated;");
        switch (tampering)
        {
            case "change-one-field":
                // Record 7 said undetermined; make it say eligible.
                Execute(connection, "UPDATE audit_records SET outcome = 'eligible' WHERE sequence = 7;");
                break;
            case "delete-a-record":
                Execute(connection, "DELETE FROM audit_records WHERE sequence = 12;");
                break;
            case "delete-the-oldest-records-up-to-a-checkpoint":
                // Looks like a retention purge (it ends at the checkpoint at 10), but no purge event declares it.
                Execute(connection, "DELETE FROM audit_records WHERE sequence <= 10;");
                break;
            case "delete-up-to-the-checkpoint-at-20":
                Execute(connection, "DELETE FROM audit_records WHERE sequence <= 20;");
                break;
            case "delete-a-record-and-renumber":
                Execute(connection, "DELETE FROM audit_records WHERE sequence = 12;");
                Execute(connection, "UPDATE audit_records SET sequence = sequence - 1 WHERE sequence > 12;");
                break;
            case "insert-a-record":
                // Make room at 10 and put a copy of record 9 there, hash and all.
                Execute(connection, "UPDATE audit_records SET sequence = -sequence WHERE sequence >= 10;");
                Execute(connection, "UPDATE audit_records SET sequence = 1 - sequence WHERE sequence < 0;");
                Execute(connection, $"INSERT INTO audit_records ({SqliteAuditStore.ChainColumns}) SELECT 10, {SqliteAuditStore.ChainColumns[10..]} FROM audit_records WHERE sequence = 9;");
                break;
            case "swap-two-records":
                Execute(connection, "UPDATE audit_records SET sequence = -1 WHERE sequence = 14;");
                Execute(connection, "UPDATE audit_records SET sequence = 14 WHERE sequence = 15;");
                Execute(connection, "UPDATE audit_records SET sequence = 15 WHERE sequence = -1;");
                break;
            case "truncate-the-tail-after-a-checkpoint":
                Execute(connection, "DELETE FROM audit_records WHERE sequence > 15;");
                break;
            case "rewrite-the-chain-after-a-record-changed":
                // The canonical form is public, so an attacker can recompute every hash after the change; only the
                // signed checkpoint at 20 can tell, and what it covers since the checkpoint at 10 is suspect.
                Execute(connection, "UPDATE audit_records SET decision_rule = 'rewritten' WHERE sequence = 13;");
                RecomputeHashes(connection);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(tampering), tampering, null);
        }
    }

    /// <summary>Recomputes every stored hash from the genesis, as a well-informed attacker would.</summary>
    public static void RecomputeHashes(SqliteConnection connection)
    {
        var rows = new List<AuditChainRow>();
        using (var read = connection.CreateCommand())
        {
            read.CommandText = $"SELECT {SqliteAuditStore.ChainColumns} FROM audit_records ORDER BY sequence;";
            using var reader = read.ExecuteReader();
            while (reader.Read())
            {
                rows.Add(SqliteAuditStore.ReadChainRow(reader));
            }
        }

        var previous = AuditChain.Genesis.ToArray();
        var hash = new byte[AuditChain.HashBytes];
        var scratch = new ArrayBufferWriter<byte>();
        foreach (var row in rows)
        {
            AuditChain.ComputeHash(row.Values, previous, scratch, hash);
            using var update = connection.CreateCommand();
            update.CommandText = "UPDATE audit_records SET hash = $hash WHERE sequence = $sequence;";
            update.Parameters.AddWithValue("$hash", AuditChain.ToHex(hash));
            update.Parameters.AddWithValue("$sequence", row.Sequence);
            update.ExecuteNonQuery();
            hash.CopyTo(previous, 0);
        }
    }

    /// <summary>Replaces the checkpoint at <paramref name="sequence"/> with one for the same head, signed by a key that is not the gateway's but claims its kid.</summary>
    public static void ForgeCheckpoint(string databasePath, long sequence)
    {
        using var connection = Open(databasePath);
        string headHash;
        string kid;
        long? previous;
        using (var read = connection.CreateCommand())
        {
            read.CommandText = "SELECT head_hash, key_id, previous_checkpoint FROM audit_checkpoints WHERE sequence = $sequence;";
            read.Parameters.AddWithValue("$sequence", sequence);
            using var reader = read.ExecuteReader();
            reader.Read().Should().BeTrue("the log has a checkpoint at {0}", sequence);
            (headHash, kid, previous) = (reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetInt64(2));
        }

        var impostor = new ECDsaSecurityKey(System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256)) { KeyId = kid };
        var forged = new AuditCheckpointIssuer(impostor, new AuditCheckpointOptions(), TimeProvider.System)
            .Sign(sequence, headHash, new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero), previous);
        Execute(connection, "DROP TRIGGER audit_checkpoints_never_updated;");
        using var update = connection.CreateCommand();
        update.CommandText = "UPDATE audit_checkpoints SET jws = $jws, issued_at = $issuedAt WHERE sequence = $sequence;";
        update.Parameters.AddWithValue("$jws", forged.Jws);
        update.Parameters.AddWithValue("$issuedAt", AuditRecordFormat.FormatTime(forged.IssuedAt));
        update.Parameters.AddWithValue("$sequence", sequence);
        update.ExecuteNonQuery();
    }

    /// <summary>Overwrites the stored checkpoint at <paramref name="replacement"/>'s sequence with it, signature, key id and all.</summary>
    public static void ReplaceCheckpoint(string databasePath, AuditCheckpoint replacement)
    {
        using var connection = Open(databasePath);
        Execute(connection, "DROP TRIGGER audit_checkpoints_never_updated;");
        using var update = connection.CreateCommand();
        update.CommandText = "UPDATE audit_checkpoints SET jws = $jws, key_id = $kid, issued_at = $issuedAt WHERE sequence = $sequence;";
        update.Parameters.AddWithValue("$jws", replacement.Jws);
        update.Parameters.AddWithValue("$kid", replacement.KeyId);
        update.Parameters.AddWithValue("$issuedAt", AuditRecordFormat.FormatTime(replacement.IssuedAt));
        update.Parameters.AddWithValue("$sequence", replacement.Sequence);
        update.ExecuteNonQuery().Should().Be(1);
    }

    public static SqliteConnection Open(string databasePath)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Verifies the file as the CLI does: a read-only store and the public key set only.</summary>
    public static async Task<AuditVerification> VerifyAsync(string databasePath, string publicKeySet)
    {
        await using var store = new SqliteAuditStore(databasePath, TimeSpan.FromSeconds(5), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        return await AuditVerifier.VerifyAsync(store, new AuditCheckpointVerifier(publicKeySet), CancellationToken.None);
    }

    /// <summary>The retention purger of a test log, on the log's own clock.</summary>
    public static AuditPurger Purger(this AuditTestLog audit) => audit.Services.GetRequiredService<AuditPurger>();

    /// <summary>
    /// The retention purger of a test log, deciding at <paramref name="now"/>'s time while the log keeps its own clock.
    /// Moving the log's clock days ahead would also wake its idle checkpoint (at most a day apart) and sign the unsigned
    /// tail; a purge test that needs expired records after the last checkpoint moves only the purger's clock.
    /// </summary>
    public static AuditPurger PurgerAt(this AuditTestLog audit, TimeProvider now) =>
        new(audit.Store, audit.Log, now, Microsoft.Extensions.Logging.Abstractions.NullLogger<AuditPurger>.Instance);

    /// <summary>
    /// Moves <paramref name="clock"/> on by <paramref name="interval"/> (the log's idle checkpoint interval) until the log
    /// has signed a checkpoint at <paramref name="sequence"/>, failing after ten seconds. The writer arms its idle timer
    /// only once it has nothing left to write, and signs on its own task, so one step may come too early and the
    /// checkpoint a moment after the step that wakes it.
    /// </summary>
    public static async Task AdvanceUntilCheckpointAsync(this AuditTestLog audit, FakeTimeProvider clock, TimeSpan interval, long sequence)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!(await audit.Store.ReadCheckpointsAsync(CancellationToken.None)).Any(c => c.Sequence == sequence))
        {
            clock.Advance(interval);
            await Task.Delay(10, deadline.Token);
        }
    }

    /// <summary>The key ring of a test log.</summary>
    public static KeyRing Keys(this AuditTestLog audit) => audit.Services.GetRequiredService<KeyRing>();
}
