using EligibilityGateway.TrustFramework;

namespace EligibilityGateway.Tests.TrustFramework;

public sealed class IsoDurationTests
{
    public static TheoryData<string, TimeSpan> Valid => new()
    {
        { "PT24H", TimeSpan.FromHours(24) },
        { "P90D", TimeSpan.FromDays(90) },
        { "P2W", TimeSpan.FromDays(14) },
        { "P1DT12H", TimeSpan.FromHours(36) },
        { "PT1M30S", TimeSpan.FromSeconds(90) },
        { "PT0.25S", TimeSpan.FromMilliseconds(250) },
        { "PT0S", TimeSpan.Zero },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void TryParse_WhenWellFormed_ReturnsTheDuration(string text, TimeSpan expected)
    {
        IsoDuration.TryParse(text, out var duration).Should().BeTrue();
        duration.Should().Be(expected);
    }

    [Theory]
    [InlineData("P1Y")]
    [InlineData("P1M")]
    [InlineData("PT")]
    [InlineData("P")]
    [InlineData("P1DT")]
    [InlineData("-PT1H")]
    [InlineData("pt1h")]
    [InlineData("P1W2D")]
    [InlineData("1 day")]
    public void TryParse_WhenMalformedOrCalendarDependent_Refuses(string text)
    {
        IsoDuration.TryParse(text, out var duration).Should().BeFalse();
        duration.Should().BeNull();
    }
}
