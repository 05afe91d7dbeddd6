using EligibilityGateway.TrustFramework;

namespace EligibilityGateway.Tests.TrustFramework;

public sealed class SecretHashTests
{
    [Fact]
    public void Create_ThenParse_VerifiesTheSecretAndNothingElse()
    {
        var text = SecretHash.Create("correct horse", SecretHash.MinimumIterations).ToString();

        SecretHash.TryParse(text, out var hash, out var error).Should().BeTrue(error);
        hash!.Verify("correct horse").Should().BeTrue();
        hash.Verify("correct horse ").Should().BeFalse();
        hash.Verify("").Should().BeFalse();
        text.Should().MatchRegex(@"^pbkdf2-sha256\$10000\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$");
    }

    [Fact]
    public void Create_TwiceWithTheSameSecret_UsesDifferentSalts()
    {
        SecretHash.Create("s", SecretHash.MinimumIterations).ToString()
            .Should().NotBe(SecretHash.Create("s", SecretHash.MinimumIterations).ToString());
    }

    [Theory]
    [InlineData("", "must be 'pbkdf2-sha256")]
    [InlineData("sha256$10000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "must be 'pbkdf2-sha256")]
    [InlineData("pbkdf2-sha256$999$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "iteration count")]
    [InlineData("pbkdf2-sha256$-1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "iteration count")]
    [InlineData("pbkdf2-sha256$10000$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "salt")]
    [InlineData("pbkdf2-sha256$10000$AAAAAAAAAAAAAAAAAAAAAA==$AAAA", "hash must be")]
    [InlineData("pbkdf2-sha256$10000$!!!!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "salt")]
    public void TryParse_WhenMalformed_SaysWhy(string text, string expected)
    {
        SecretHash.TryParse(text, out var hash, out var error).Should().BeFalse();
        hash.Should().BeNull();
        error.Should().Contain(expected);
    }
}
