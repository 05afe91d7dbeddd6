using EligibilityGateway.Audit;
using EligibilityGateway.Security;

namespace EligibilityGateway.Tests.Audit;

/// <summary>
/// Verification of a SQLite log on disk against forged and missing checkpoints. An untouched log and every tampering of
/// the records are verified on both stores in <see cref="AuditStoreContractTests"/>.
/// </summary>
public sealed class AuditVerifierTests
{
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
}
