using System.Text;
using EligibilityGateway.Consents;
using EligibilityGateway.Security;
using EligibilityGateway.Tests.Caching;

namespace EligibilityGateway.Tests.Consents;

/// <summary>The consented subject is sealed so that only the consent it was sealed for, under the gateway's key, can open it.</summary>
public sealed class ConsentSubjectProtectorTests : IDisposable
{
    private const string ConsentId = "0191a8f0-0000-7000-8000-000000000001";
    private readonly TemporaryKeyRing keys = new();

    public void Dispose() => keys.Dispose();

    [Theory]
    [MemberData(nameof(People))]
    public void Seal_ThenOpen_GivesBackTheSameCitizen(string name)
    {
        var subject = new ConsentedSubject(Pick(name), "citizen-account-1");
        var protector = new ConsentSubjectProtector(keys.Ring);

        protector.TryOpen(ConsentId, protector.Seal(ConsentId, subject), out var opened).Should().BeTrue();

        opened.Should().Be(subject);
    }

    public static TheoryData<string> People => new() { "Smith", "Khan", "O'Brien-Łukasz" };

    [Fact]
    public void Seal_HidesEveryIdentifier_AndDiffersEachTime()
    {
        var protector = new ConsentSubjectProtector(keys.Ring);
        var subject = new ConsentedSubject(Citizens.Smith, "citizen-account-1");

        var first = protector.Seal(ConsentId, subject);
        var second = protector.Seal(ConsentId, subject);

        first.Should().NotEqual(second, "every seal takes a fresh nonce");
        var text = Encoding.Latin1.GetString(first);
        foreach (var value in new[] { "AB123456C", "Smith", "citizen-account-1", "1990" })
        {
            text.Should().NotContainEquivalentOf(value);
        }
    }

    [Fact]
    public void Open_RefusesIdentifiersMovedFromAnotherConsent_Altered_Truncated_OrSealedUnderAnotherKey()
    {
        var protector = new ConsentSubjectProtector(keys.Ring);
        var sealedSubject = protector.Seal(ConsentId, new ConsentedSubject(Citizens.Smith, "citizen-account-1"));
        var altered = (byte[])sealedSubject.Clone();
        altered[20] ^= 0x01;
        using var otherKeys = new TemporaryKeyRing();

        protector.TryOpen("0191a8f0-0000-7000-8000-000000000002", sealedSubject, out _).Should().BeFalse();
        protector.TryOpen(ConsentId, altered, out _).Should().BeFalse();
        protector.TryOpen(ConsentId, sealedSubject.AsSpan(0, sealedSubject.Length - 1), out _).Should().BeFalse();
        protector.TryOpen(ConsentId, [], out _).Should().BeFalse();
        new ConsentSubjectProtector(otherKeys.Ring).TryOpen(ConsentId, sealedSubject, out _).Should().BeFalse();
    }

    [Fact]
    public void TheConsentKey_IsItsOwn_NotTheCacheKey()
    {
        keys.Ring.ConsentEncryptionKey.Should().HaveCount(32).And.NotEqual(keys.Ring.CacheEncryptionKey);
        File.Exists(Path.Combine(keys.Directory, KeyRing.ConsentEncryptionFile)).Should().BeTrue();
    }

    private static EligibilityGateway.Checks.Subject Pick(string name) => name switch
    {
        "Smith" => Citizens.Smith,
        "Khan" => Citizens.Khan,
        _ => new EligibilityGateway.Checks.Subject(EligibilityGateway.Checks.IdentifierKind.NationalInsuranceNumber, "QQ123456C", name, new DateOnly(1901, 2, 3)),
    };
}
