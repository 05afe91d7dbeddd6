using EligibilityGateway.Checks;
using EligibilityGateway.Providers;
using EligibilityGateway.TrustFramework;

namespace EligibilityGateway.Tests.Providers;

/// <summary>Providers/README.md, "Combining", as a table: E eligible, N not eligible, F not found, X failed.</summary>
public sealed class SchemeCombinerTests
{
    [Theory]
    [InlineData("E", nameof(Outcome.Eligible))]
    [InlineData("N", nameof(Outcome.NotEligible))]
    [InlineData("F", nameof(Outcome.NotFound))]
    [InlineData("X", nameof(Outcome.Undetermined))]
    [InlineData("", nameof(Outcome.NotFound))]
    [InlineData("EX", nameof(Outcome.Eligible))]
    [InlineData("XE", nameof(Outcome.Eligible))]
    [InlineData("ENFX", nameof(Outcome.Eligible))]
    [InlineData("NX", nameof(Outcome.Undetermined))]
    [InlineData("FX", nameof(Outcome.Undetermined))]
    [InlineData("NFX", nameof(Outcome.Undetermined))]
    [InlineData("XXX", nameof(Outcome.Undetermined))]
    [InlineData("NF", nameof(Outcome.NotEligible))]
    [InlineData("FN", nameof(Outcome.NotEligible))]
    [InlineData("NNN", nameof(Outcome.NotEligible))]
    [InlineData("FFF", nameof(Outcome.NotFound))]
    [InlineData("EF", nameof(Outcome.Eligible))]
    [InlineData("EN", nameof(Outcome.Eligible))]
    public void Combine_AnyEligible_FollowsTheSpecTable(string answers, string expectedName)
    {
        var expected = Enum.Parse<Outcome>(expectedName);

        var statuses = answers.Select(a => a switch
        {
            'E' => ProviderCallStatus.Eligible,
            'N' => ProviderCallStatus.NotEligible,
            'F' => ProviderCallStatus.NotFound,
            'X' => ProviderCallStatus.Failed,
            _ => throw new ArgumentOutOfRangeException(nameof(answers)),
        });

        SchemeCombiner.Combine(CombiningRule.AnyEligible, statuses).Should().Be(expected);
    }

    [Fact]
    public void Combine_WhenEveryProviderFailed_IsNeverNotEligible()
    {
        var calls = new[]
        {
            new ProviderCall("dwp", ProviderCallStatus.Failed, TimeSpan.FromSeconds(5), ProviderFailureReasons.Timeout),
            new ProviderCall("hmrc", ProviderCallStatus.Failed, TimeSpan.Zero, ProviderFailureReasons.CircuitOpen),
        };

        SchemeCombiner.Combine(CombiningRule.AnyEligible, calls).Should().Be(Outcome.Undetermined);
    }
}
