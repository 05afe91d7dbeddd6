using System.Security.Cryptography;
using EligibilityGateway.Security;

namespace EligibilityGateway.Tests.Security;

/// <summary>The envelope every sealed value at rest uses: each byte of it, and the record it belongs to, is bound.</summary>
public sealed class SealedEnvelopeTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);
    private static readonly byte[] Plaintext = "free-school-meals eligible"u8.ToArray();
    private static readonly byte[] Record = "egw:record:v1:abc"u8.ToArray();

    [Fact]
    public void Seal_ThenOpen_GivesThePlaintextBack_InTheDocumentedLayout()
    {
        var sealedValue = SealedEnvelope.Seal(Key, 3, Plaintext, Record);

        sealedValue.Should().HaveCount(1 + 12 + Plaintext.Length + 16);
        sealedValue[0].Should().Be(3);
        SealedEnvelope.Open(Key, 3, sealedValue, Record).Should().Equal(Plaintext);
    }

    [Fact]
    public void Seal_TwiceWithTheSameInput_UsesFreshNonces()
    {
        SealedEnvelope.Seal(Key, 1, Plaintext, Record).Should().NotEqual(SealedEnvelope.Seal(Key, 1, Plaintext, Record));
    }

    [Fact]
    public void Open_AfterAnyByteIsFlipped_IsNull()
    {
        var sealedValue = SealedEnvelope.Seal(Key, 1, Plaintext, Record);
        for (var i = 0; i < sealedValue.Length; i++)
        {
            var altered = (byte[])sealedValue.Clone();
            altered[i] ^= 0x01;
            SealedEnvelope.Open(Key, 1, altered, Record).Should().BeNull($"byte {i} was changed");
        }
    }

    [Fact]
    public void Open_WithAnotherRecord_AnotherKey_AnotherVersion_OrTooFewBytes_IsNull()
    {
        var sealedValue = SealedEnvelope.Seal(Key, 1, Plaintext, Record);

        SealedEnvelope.Open(Key, 1, sealedValue, "egw:record:v1:abd"u8).Should().BeNull("the value was moved to another record");
        SealedEnvelope.Open(RandomNumberGenerator.GetBytes(32), 1, sealedValue, Record).Should().BeNull("another key sealed it");
        SealedEnvelope.Open(Key, 2, sealedValue, Record).Should().BeNull("a reader of another version must not parse it");
        SealedEnvelope.Open(Key, 1, sealedValue.AsSpan(0, SealedEnvelope.Overhead - 1), Record).Should().BeNull();
        SealedEnvelope.Open(Key, 1, [], Record).Should().BeNull();
    }

    [Fact]
    public void Open_WithTheVersionByteRewritten_IsNull_EvenForAReaderOfTheNewVersion()
    {
        var sealedValue = SealedEnvelope.Seal(Key, 1, Plaintext, Record);
        sealedValue[0] = 2;

        SealedEnvelope.Open(Key, 2, sealedValue, Record).Should().BeNull("the version is authenticated");
    }
}
