using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using EligibilityGateway.Audit;
using EligibilityGateway.Checks;

namespace EligibilityGateway.Tests.Audit;

public sealed class SubjectReferencesTests
{
    private static readonly byte[] Key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
    private static readonly Subject Smith = new(IdentifierKind.NationalInsuranceNumber, "AB123456C", "Smith", new DateOnly(1990, 1, 1));
    private static readonly Subject Khan = new(IdentifierKind.NationalAsylumSeekerServiceNumber, "240712349", "Khan", new DateOnly(1990, 1, 1));

    [Fact]
    public void Compute_ForTheSamePerson_IsStableAcrossInstancesAndSurnameSpellings()
    {
        var first = new SubjectReferences(Key).Compute(Smith);

        new SubjectReferences(Key).Compute(Smith).Should().Be(first);
        new SubjectReferences(Key).Compute(Smith with { LastName = "SMITH-JONES" }).Should().Be(first, "the surname is not part of the reference");
    }

    [Fact]
    public void Compute_NormalisesTheSpacingAndCaseOfTheIdentifier()
    {
        var references = new SubjectReferences(Key);

        references.Compute(Smith with { Identifier = " ab 12 34 56 c " }).Should().Be(references.Compute(Smith));
    }

    [Fact]
    public void Compute_UnderADifferentKey_GivesADifferentReference()
    {
        var otherKey = Key.Select(b => (byte)(b ^ 0x5a)).ToArray();

        new SubjectReferences(otherKey).Compute(Smith).Should().NotBe(new SubjectReferences(Key).Compute(Smith));
    }

    [Fact]
    public void Compute_ForADifferentIdentifierOrDateOfBirth_GivesADifferentReference()
    {
        var references = new SubjectReferences(Key);
        var all = new[]
        {
            references.Compute(Smith),
            references.Compute(Smith with { Identifier = "AB123456D" }),
            references.Compute(Smith with { DateOfBirth = new DateOnly(1990, 1, 2) }),
            references.Compute(Khan),
            references.Compute(Khan with { IdentifierKind = IdentifierKind.NationalInsuranceNumber }),
        };

        all.Should().OnlyHaveUniqueItems();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Compute_ForEachSandboxFixture_ContainsNoIdentifierSurnameOrDateOfBirth(int fixture)
    {
        var subject = Fixtures[fixture];

        var reference = new SubjectReferences(Key).Compute(subject);

        reference.Should().MatchRegex("^sr1:[A-Za-z0-9_-]{43}$");
        foreach (var personal in new[] { subject.Identifier, subject.LastName, subject.DateOfBirth.ToString("yyyy-MM-dd", null), subject.DateOfBirth.ToString("yyyyMMdd", null) })
        {
            reference.Should().NotContainEquivalentOf(personal);
        }
    }

    private static readonly Subject[] Fixtures =
    [
        Smith,
        new Subject(IdentifierKind.NationalInsuranceNumber, "CE234567A", "Jones", new DateOnly(1985, 5, 15)),
        new Subject(IdentifierKind.NationalInsuranceNumber, "EH345678B", "Taylor", new DateOnly(1978, 11, 30)),
        new Subject(IdentifierKind.NationalInsuranceNumber, "JK456789C", "Brown", new DateOnly(1992, 2, 29)),
        Khan,
    ];

    [Fact]
    public void Compute_IsTheHmacOfTheDocumentedVersionOneEncoding()
    {
        // README.md: domain label, then each field as one length byte and its ASCII bytes.
        var message = new List<byte>(Encoding.ASCII.GetBytes("eligibility-gateway/subject-reference/v1"));
        foreach (var field in new[] { "nino", "AB123456C", "1990-01-01" })
        {
            message.Add((byte)field.Length);
            message.AddRange(Encoding.ASCII.GetBytes(field));
        }

        var expected = "sr1:" + Base64Url.EncodeToString(HMACSHA256.HashData(Key, message.ToArray()));

        new SubjectReferences(Key).Compute(Smith).Should().Be(expected);
    }

    [Fact]
    public void Compute_WithAnIdentifierThatIsNotNormalisable_Refuses()
    {
        var compute = () => new SubjectReferences(Key).Compute(Smith with { Identifier = "AB-123456-C" });

        compute.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Constructor_WithAKeyOfTheWrongLength_Refuses()
    {
        var create = () => new SubjectReferences(new byte[16]);

        create.Should().Throw<ArgumentException>().WithMessage("*32 bytes*");
    }

    [Theory]
    [InlineData("AB123456C", false)]
    [InlineData("sr1:", false)]
    [InlineData("sr2:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", false)]
    [InlineData("sr1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", true)]
    [InlineData("sr1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+", false)]
    public void IsWellFormed_AcceptsOnlyVersionOneReferences(string value, bool expected)
    {
        SubjectReferences.IsWellFormed(value).Should().Be(expected);
    }
}
