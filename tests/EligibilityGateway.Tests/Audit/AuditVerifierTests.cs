using EligibilityGateway.Audit;
using EligibilityGateway.Security;

namespace EligibilityGateway.Tests.Audit;

/// <summary>Verification of a log on disk: what it accepts, and the first bad sequence it names for each tampering.</summary>
public sealed class AuditVerifierTests
{
    [Fact]
    public async Task Verify_AnUntouchedLog_IsValidUpToItsLastRecordAndCheckpoint()
    {
        await using var audit = await AuditTampering.WriteClosedLogAsync();

        var result = await AuditTampering.VerifyAsync(audit.DatabasePath, AuditTampering.PublicKeySet(Path.Combine(audit.Directory, "keys")));

        var valid = result.Should().BeOfType<AuditVerification.Valid>().Subject;
        valid.Count.Should().Be(AuditTampering.Records);
        valid.LastSequence.Should().Be(AuditTampering.Records);
        valid.LastCheckpoint!.Sequence.Should().Be(AuditTampering.Records, "the log signs its head on shutdown");
    }

    [Theory]
    [MemberData(nameof(AuditTampering.Cases), MemberType = typeof(AuditTampering))]
    public async Task Verify_AfterTampering_NamesTheFirstBadSequence(string tampering, long firstBadSequence)
    {
        await using var audit = await AuditTampering.WriteClosedLogAsync();
        AuditTampering.Apply(tampering, audit.DatabasePath);

        var result = await AuditTampering.VerifyAsync(audit.DatabasePath, AuditTampering.PublicKeySet(Path.Combine(audit.Directory, "keys")));

        result.Should().BeOfType<AuditVerification.Invalid>().Which.FirstBadSequence.Should().Be(firstBadSequence, AuditVerification.Describe(result));
    }

    [Fact]
    public async Task Verify_ACheckpointSignedByAnotherKeyUnderTheGatewaysKid_IsRejectedAtThatCheckpoint()
    {
        await using var audit = await AuditTampering.WriteClosedLogAsync();
        AuditTampering.ForgeCheckpoint(audit.DatabasePath, 20);

        var result = await AuditTampering.VerifyAsync(audit.DatabasePath, AuditTampering.PublicKeySet(Path.Combine(audit.Directory, "keys")));

        var invalid = result.Should().BeOfType<AuditVerification.Invalid>().Subject;
        invalid.FirstBadSequence.Should().Be(20);
        invalid.Reason.Should().Contain("signature");
    }

    [Fact]
    public async Task Verify_WithAnotherGatewaysKeySet_RejectsTheFirstCheckpoint()
    {
        await using var audit = await AuditTampering.WriteClosedLogAsync();
        var otherKeys = Directory.CreateTempSubdirectory("egw-other-keys-").FullName;
        try
        {
            KeyRing.Load(new KeyRingOptions { Directory = otherKeys, GenerateIfMissing = true });

            var result = await AuditTampering.VerifyAsync(audit.DatabasePath, AuditTampering.PublicKeySet(otherKeys));

            var invalid = result.Should().BeOfType<AuditVerification.Invalid>().Subject;
            invalid.FirstBadSequence.Should().Be(10);
            invalid.Reason.Should().Contain("not in the audit key set");
        }
        finally
        {
            Directory.Delete(otherKeys, recursive: true);
        }
    }

    [Fact]
    public async Task Verify_WhenACheckpointIsRemovedFromTheMiddle_NamesTheCheckpointThatNoLongerFollowsOn()
    {
        await using var audit = await AuditTampering.WriteClosedLogAsync();
        using (var connection = AuditTampering.Open(audit.DatabasePath))
        {
            AuditTampering.Execute(connection, "DELETE FROM audit_checkpoints WHERE sequence = 10;");
        }

        var result = await AuditTampering.VerifyAsync(audit.DatabasePath, AuditTampering.PublicKeySet(Path.Combine(audit.Directory, "keys")));

        result.Should().BeOfType<AuditVerification.Invalid>().Which.FirstBadSequence.Should().Be(20);
    }

    [Fact]
    public async Task Verify_AnEmptyLog_IsValidWithNoRecords()
    {
        await using var audit = await AuditTestLog.CreateAsync();
        var keys = System.Text.Encoding.UTF8.GetString(AuditKeySet.Serialize(audit.Keys().PublicAuditKeys()));

        var result = await AuditVerifier.VerifyAsync(audit.Store, new AuditCheckpointVerifier(keys), CancellationToken.None);

        result.Should().Be(new AuditVerification.Valid(0, 0, null));
    }

    [Fact]
    public async Task Verify_WhileTheLogIsOpen_ReadsASnapshotAndSeesTheCountBasedCheckpoints()
    {
        await using var audit = await AuditTestLog.CreateAsync(settings: AuditTampering.CheckpointEveryTen);
        for (var i = 1; i <= 23; i++)
        {
            await audit.Log.AppendAsync(AuditTestLog.Check(i));
        }

        var keys = System.Text.Encoding.UTF8.GetString(AuditKeySet.Serialize(audit.Keys().PublicAuditKeys()));
        var result = await AuditVerifier.VerifyAsync(audit.Store, new AuditCheckpointVerifier(keys), CancellationToken.None);

        var valid = result.Should().BeOfType<AuditVerification.Valid>().Subject;
        valid.Count.Should().Be(23);
        valid.LastCheckpoint!.Sequence.Should().Be(20);
    }
}
