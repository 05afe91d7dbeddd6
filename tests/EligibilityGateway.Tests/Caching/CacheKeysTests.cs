using System.Text.RegularExpressions;
using EligibilityGateway.Caching;
using EligibilityGateway.Checks;

namespace EligibilityGateway.Tests.Caching;

public sealed partial class CacheKeysTests : IDisposable
{
    private readonly TemporaryKeyRing keys = new();

    public void Dispose() => keys.Dispose();

    [GeneratedRegex("^egw:a1:[A-Za-z0-9_-]{43}$")]
    private static partial Regex KeyFormat();

    private CacheKeys Keys => new(keys.Ring);

    [Fact]
    public void For_TheSameQuestionTwice_GivesTheSameOpaqueKey()
    {
        var first = Keys.For("leeds", "free-school-meals", "consent-1", Fixtures.Smith);
        var second = new CacheKeys(keys.Ring).For("leeds", "free-school-meals", "consent-1", Fixtures.Smith with { });

        second.Should().Be(first);
        first.Value.Should().MatchRegex(KeyFormat().ToString());
    }

    [Fact]
    public void For_EveryFixture_NamesNoCouncilSchemeConsentOrPersonalDataInClear()
    {
        foreach (var subject in Fixtures.All)
        {
            var key = Keys.For("leeds", "free-school-meals", "consent-1", subject).Value;

            key.Should().MatchRegex(KeyFormat().ToString());
            foreach (var part in new[] { "leeds", "free-school-meals", "consent-1", subject.Identifier, subject.LastName, subject.DateOfBirth.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) })
            {
                key.Should().NotContainEquivalentOf(part);
            }
        }
    }

    [Fact]
    public void For_EachPartChanged_GivesAnotherKey()
    {
        var keys = new[]
        {
            Keys.For("leeds", "free-school-meals", null, Fixtures.Smith),
            Keys.For("camden", "free-school-meals", null, Fixtures.Smith),
            Keys.For("leeds", "council-tax-support", null, Fixtures.Smith),
            Keys.For("leeds", "free-school-meals", "", Fixtures.Smith),
            Keys.For("leeds", "free-school-meals", "consent-1", Fixtures.Smith),
            Keys.For("leeds", "free-school-meals", null, Fixtures.Smith with { IdentifierKind = IdentifierKind.NationalAsylumSeekerServiceNumber }),
            Keys.For("leeds", "free-school-meals", null, Fixtures.Smith with { Identifier = "AB123456D" }),
            Keys.For("leeds", "free-school-meals", null, Fixtures.Smith with { LastName = "Smyth" }),
            Keys.For("leeds", "free-school-meals", null, Fixtures.Smith with { DateOfBirth = new DateOnly(1990, 1, 2) }),
        };

        keys.Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public void For_PartsThatConcatenateAlike_GiveDifferentKeys()
    {
        var split = Keys.For("leeds", "free-school-meals", null, Fixtures.Smith);
        var shifted = Keys.For("leedsf", "ree-school-meals", null, Fixtures.Smith);
        var moved = Keys.For("leeds", "free-school-meals", null, Fixtures.Smith with { Identifier = "AB123456CS", LastName = "mith" });

        new[] { split, shifted, moved }.Should().OnlyHaveUniqueItems();
    }

    [Theory]
    [InlineData("SMITH")]
    [InlineData("smith")]
    [InlineData("sMiTh")]
    public void For_SurnameInAnyCase_GivesTheSameKey(string lastName)
    {
        Keys.For("leeds", "free-school-meals", null, Fixtures.Smith with { LastName = lastName })
            .Should().Be(Keys.For("leeds", "free-school-meals", null, Fixtures.Smith));
    }

    [Fact]
    public void For_UnderAnotherIndexKey_GivesAnUnrelatedKey()
    {
        using var other = new TemporaryKeyRing();

        new CacheKeys(other.Ring).For("leeds", "free-school-meals", null, Fixtures.Smith)
            .Should().NotBe(Keys.For("leeds", "free-school-meals", null, Fixtures.Smith));
    }

    [Theory]
    [InlineData("", "free-school-meals")]
    [InlineData("leeds", "")]
    public void For_WithoutCouncilOrScheme_Refuses(string council, string scheme)
    {
        var make = () => Keys.For(council, scheme, null, Fixtures.Smith);

        make.Should().Throw<ArgumentException>();
    }
}
