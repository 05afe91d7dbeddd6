using System.Net;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Audit;
using EligibilityGateway.Security;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.Caching;
using EligibilityGateway.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace EligibilityGateway.Tests.Audit;

/// <summary>
/// Rotating the audit signing key (Security/README.md, "Rotating the audit key"): a new key signs new checkpoints,
/// the retired key stays published, and checkpoints from either side of the rotation verify with the published set.
/// </summary>
public sealed class AuditKeyRotationTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("egw-audit-rotation-").FullName;

    private string KeyDirectory => Path.Combine(directory, "keys");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task Verify_CheckpointsSignedBeforeAndAfterARotation_BothVerifyWithThePublishedKeySet()
    {
        var (oldKid, newKid) = await WriteLogAcrossARotationAsync();

        var published = AuditTampering.PublicKeySet(KeyDirectory, newKid);
        var result = await VerifyAsync(published);

        var checkpoints = await ReadCheckpointsAsync();
        checkpoints.Select(c => c.KeyId).Should().Contain(oldKid).And.Contain(newKid);
        checkpoints.Where(c => c.Sequence <= 5).Should().OnlyContain(c => c.KeyId == oldKid, "the first five records were signed before the rotation");
        checkpoints.Where(c => c.Sequence > 5).Should().OnlyContain(c => c.KeyId == newKid, "after the rotation only the new key signs");
        result.Should().BeOfType<AuditVerification.Valid>().Which.LastCheckpoint!.KeyId.Should().Be(newKid, AuditVerification.Describe(result));
    }

    [Fact]
    public async Task Verify_WhenTheRetiredKeyIsLeftOutOfTheKeySet_NamesTheFirstCheckpointItSigned()
    {
        var (oldKid, newKid) = await WriteLogAcrossARotationAsync();
        var onlyTheNewKey = AuditKeySet.Serialize(KeyRing.Load(new KeyRingOptions { Directory = KeyDirectory, ActiveAuditSigningKeyId = newKid }).PublicAuditKeys().Where(k => k.KeyId == newKid));

        var result = await VerifyAsync(Encoding.UTF8.GetString(onlyTheNewKey));

        var invalid = result.Should().BeOfType<AuditVerification.Invalid>().Subject;
        var first = (await ReadCheckpointsAsync())[0];
        invalid.FirstBadSequence.Should().Be(first.Sequence);
        invalid.Reason.Should().Contain($"signed by key '{oldKid}', which is not in the audit key set");
    }

    [Fact]
    public async Task Verify_ACheckpointSignedByAnUnknownKey_FailsAtThatCheckpoint()
    {
        var (_, newKid) = await WriteLogAcrossARotationAsync();
        var checkpoints = await ReadCheckpointsAsync();
        var forgedAt = checkpoints.First(c => c.KeyId == newKid);
        using (var stranger = new TemporaryKeyRing())
        {
            // Re-sign one checkpoint with a key the deployment never published, same payload, same chain.
            var issuer = new AuditCheckpointIssuer(stranger.Ring.AuditSigningKey, new AuditCheckpointOptions(), TimeProvider.System);
            var forged = issuer.Sign(forgedAt.Sequence, forgedAt.HeadHash, forgedAt.IssuedAt, forgedAt.PreviousCheckpoint);
            AuditTampering.ReplaceCheckpoint(Path.Combine(directory, "audit.db"), forged);
        }

        var result = await VerifyAsync(AuditTampering.PublicKeySet(KeyDirectory, newKid));

        var invalid = result.Should().BeOfType<AuditVerification.Invalid>().Subject;
        invalid.FirstBadSequence.Should().Be(forgedAt.Sequence);
        invalid.Reason.Should().Contain("which is not in the audit key set");
    }

    [Fact]
    public async Task AuditJwks_AfterARotation_PublishesTheActiveKeyFirstAndKeepsTheRetiredOne()
    {
        var (oldKid, newKid) = await WriteLogAcrossARotationAsync();
        await using var app = TestGateway.Build(directory, new Dictionary<string, string?>
        {
            ["Keys:Directory"] = KeyDirectory,
            ["Keys:ActiveAuditSigningKeyId"] = newKid,
        });
        using var client = new HttpClient { BaseAddress = await app.StartOnFreePortAsync() };

        using var response = await client.GetAsync(new Uri("/v1/audit/jwks", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        using var jwks = JsonDocument.Parse(body);
        jwks.RootElement.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()).Should().Equal(newKid, oldKid);
        body.Should().NotContain("\"d\"");
        app.Services.GetRequiredService<KeyRing>().AuditSigningKey.KeyId.Should().Be(newKid);
        var result = await AuditVerifier.VerifyAsync(app.Services.GetRequiredService<IAuditStore>(), new AuditCheckpointVerifier(body), CancellationToken.None);
        result.Should().BeOfType<AuditVerification.Valid>(AuditVerification.Describe(result));
    }

    [Fact]
    public void Load_WhenTheActiveAuditKeyIdNamesNoKey_StopsNamingTheSetting()
    {
        _ = KeyRing.Load(new KeyRingOptions { Directory = KeyDirectory, GenerateIfMissing = true });

        var load = () => KeyRing.Load(new KeyRingOptions { Directory = KeyDirectory, ActiveAuditSigningKeyId = "no-such-kid" });

        load.Should().Throw<KeyRingException>().WithMessage("*Keys:ActiveAuditSigningKeyId 'no-such-kid' names no audit key*");
    }

    [Fact]
    public void Load_WhenTheActiveAuditKeyIsAPublicHalfOnly_StopsBecauseItCannotSign()
    {
        var ring = KeyRing.Load(new KeyRingOptions { Directory = KeyDirectory, GenerateIfMissing = true });
        var retiredKid = RetireActiveKey(publicHalfOnly: true);
        retiredKid.Should().Be(ring.AuditSigningKey.KeyId);
        _ = KeyRing.WriteNewSigningKey(KeyDirectory, KeyRing.AuditSigningFile);

        var load = () => KeyRing.Load(new KeyRingOptions { Directory = KeyDirectory, ActiveAuditSigningKeyId = retiredKid });

        load.Should().Throw<KeyRingException>().WithMessage("*has no private half*");
    }

    /// <summary>
    /// Five records under the first key, then the rotation the README describes (publish the new key, make it active,
    /// keep only the old key's public half), then five more; the log is closed after each half (a checkpoint each time).
    /// </summary>
    private async Task<(string OldKid, string NewKid)> WriteLogAcrossARotationAsync()
    {
        var settings = new Dictionary<string, string?>(AuditTampering.CheckpointEveryTen) { ["Audit:Checkpoints:EveryRecords"] = "3" };
        var before = await AuditTestLog.CreateAsync(directory, settings);
        var oldKid = before.Keys().AuditSigningKey.KeyId;
        for (var i = 1; i <= 5; i++)
        {
            await before.Log.AppendAsync(AuditTestLog.Check(i));
        }

        await before.CloseAsync();

        var newKid = KeyRing.WriteNewSigningKey(KeyDirectory, KeyRing.AuditSigningPrefix + "2026-11-22.json");
        RetireActiveKey(publicHalfOnly: true).Should().Be(oldKid);
        settings["Keys:ActiveAuditSigningKeyId"] = newKid;
        var after = await AuditTestLog.CreateAsync(directory, settings);
        after.Keys().AuditSigningKey.KeyId.Should().Be(newKid);
        for (var i = 6; i <= 10; i++)
        {
            await after.Log.AppendAsync(AuditTestLog.Check(i));
        }

        await after.CloseAsync();
        SqliteConnection.ClearAllPools();
        return (oldKid, newKid);
    }

    /// <summary>Replaces <c>audit-signing.json</c> by its public half, the last step of a rotation; returns its kid.</summary>
    private string RetireActiveKey(bool publicHalfOnly)
    {
        var path = Path.Combine(KeyDirectory, KeyRing.AuditSigningFile);
        using var jwk = JsonDocument.Parse(File.ReadAllText(path));
        var kid = jwk.RootElement.GetProperty("kid").GetString()!;
        var kept = publicHalfOnly
            ? JsonSerializer.Serialize(new { kty = "EC", crv = "P-256", x = jwk.RootElement.GetProperty("x").GetString(), y = jwk.RootElement.GetProperty("y").GetString(), kid })
            : File.ReadAllText(path);
        File.Delete(path);
        File.WriteAllText(Path.Combine(KeyDirectory, KeyRing.AuditSigningPrefix + "retired-" + kid + ".json"), kept);
        return kid;
    }

    private async Task<IReadOnlyList<AuditCheckpoint>> ReadCheckpointsAsync()
    {
        await using var store = new SqliteAuditStore(Path.Combine(directory, "audit.db"), TimeSpan.FromSeconds(5), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        return await store.ReadCheckpointsAsync(CancellationToken.None);
    }

    private async Task<AuditVerification> VerifyAsync(string jwks)
    {
        SqliteConnection.ClearAllPools();
        await using var store = new SqliteAuditStore(Path.Combine(directory, "audit.db"), TimeSpan.FromSeconds(5), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        return await AuditVerifier.VerifyAsync(store, new AuditCheckpointVerifier(jwks), CancellationToken.None);
    }
}
