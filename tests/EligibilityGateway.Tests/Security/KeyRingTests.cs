using EligibilityGateway.Security;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Tests.Security;

public sealed class KeyRingTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "egw-keys-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Load_WhenAllowedToGenerate_CreatesTwoSigningKeysAndFourSymmetricKeysReadableOnlyByTheOwner()
    {
        var ring = KeyRing.Load(new KeyRingOptions { Directory = _directory, GenerateIfMissing = true });

        ring.SigningKeys.Should().HaveCount(2);
        ring.SigningKeys.Select(k => k.KeyId).Should().OnlyHaveUniqueItems();
        ring.ActiveSigningKey.Should().BeSameAs(ring.SigningKeys[^1]);
        new[] { ring.SubjectReferenceKey, ring.CacheIndexKey, ring.CacheEncryptionKey, ring.ConsentEncryptionKey }.Should().AllSatisfy(k => k.Should().HaveCount(32));
        ring.SubjectReferenceKey.Should().NotEqual(ring.CacheIndexKey);
        ring.ConsentEncryptionKey.Should().NotEqual(ring.CacheEncryptionKey);
        if (!OperatingSystem.IsWindows())
        {
            var files = Directory.GetFiles(_directory);
            files.Should().HaveCount(7);
            foreach (var file in files)
            {
                File.GetUnixFileMode(file).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite, file);
            }
        }
    }

    [Fact]
    public void Load_OnRestart_ReusesTheSameKeys()
    {
        var first = KeyRing.Load(new KeyRingOptions { Directory = _directory, GenerateIfMissing = true });
        var second = KeyRing.Load(new KeyRingOptions { Directory = _directory, GenerateIfMissing = true });

        second.SubjectReferenceKey.Should().Equal(first.SubjectReferenceKey);
        second.SigningKeys.Select(k => k.KeyId).Should().Equal(first.SigningKeys.Select(k => k.KeyId));
    }

    [Fact]
    public void Load_WhenNotAllowedToGenerateAndAKeyIsMissing_NamesTheMissingFile()
    {
        KeyRing.Load(new KeyRingOptions { Directory = _directory, GenerateIfMissing = true });
        File.Delete(Path.Combine(_directory, KeyRing.CacheEncryptionFile));

        var load = () => KeyRing.Load(new KeyRingOptions { Directory = _directory });

        load.Should().Throw<KeyRingException>().WithMessage($"*{KeyRing.CacheEncryptionFile}*missing*");
    }

    [Fact]
    public void Load_WhenASymmetricKeyIsTooShort_RefusesIt()
    {
        KeyRing.Load(new KeyRingOptions { Directory = _directory, GenerateIfMissing = true });
        File.WriteAllText(Path.Combine(_directory, KeyRing.SubjectReferenceFile), Convert.ToBase64String(new byte[16]));

        var load = () => KeyRing.Load(new KeyRingOptions { Directory = _directory });

        load.Should().Throw<KeyRingException>().WithMessage($"*{KeyRing.SubjectReferenceFile}*32 random bytes*");
    }

    [Fact]
    public void Load_WhenTheActiveKeyIsNamed_SignsWithItAndStillPublishesTheOther()
    {
        var generated = KeyRing.Load(new KeyRingOptions { Directory = _directory, GenerateIfMissing = true });
        var older = generated.SigningKeys[0].KeyId;

        var ring = KeyRing.Load(new KeyRingOptions { Directory = _directory, ActiveSigningKeyId = older });

        ring.ActiveSigningKey.KeyId.Should().Be(older);
        ring.PublicSigningKeys().Select(k => k.KeyId).Should().BeEquivalentTo(generated.SigningKeys.Select(k => k.KeyId));
    }

    [Fact]
    public async Task PublicSigningKeys_CarryNoPrivatePartAndVerifyWhatTheActiveKeySigned()
    {
        var ring = KeyRing.Load(new KeyRingOptions { Directory = _directory, GenerateIfMissing = true });
        var handler = new JsonWebTokenHandler();
        var token = handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "https://gateway.test",
            SigningCredentials = new SigningCredentials(ring.ActiveSigningKey, SecurityAlgorithms.EcdsaSha256),
        });

        var published = ring.PublicSigningKeys().ToList();
        published.Should().AllSatisfy(k => k.D.Should().BeNullOrEmpty());
        var result = await handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = "https://gateway.test",
            ValidateAudience = false,
            IssuerSigningKeys = published,
        });
        result.IsValid.Should().BeTrue(result.Exception?.Message);
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
