using System.Text.Json;
using EligibilityGateway.Checks;

namespace EligibilityGateway.Tests.Checks;

/// <summary>Every check API rule, each shown to accept what it should and to name the field it refuses.</summary>
public sealed class CheckRequestValidatorTests
{
    private static readonly DateOnly Today = new(2026, 11, 22);

    private static CheckRequestBody Smith(SubjectBody? subject = null, string? scheme = "free-school-meals", string? basis = "public-task", string? caseReference = "FSM-2026-000123") =>
        new(scheme, basis, caseReference, subject ?? new SubjectBody("AB123456C", null, "Smith", "1990-01-01"));

    private static CheckValidation Validate(CheckRequestBody body) =>
        CheckRequestValidator.Validate(body, scheme => scheme is "free-school-meals" or "council-tax-support", Today);

    [Fact]
    public void Validate_WhenEverythingIsRight_NormalisesTheSubject()
    {
        var result = Validate(Smith(new SubjectBody(" ab 12 34 56 c ", null, "  Smith ", "1990-01-01")));

        result.Request.Should().NotBeNull();
        result.Request!.Subject.Should().Be(new Subject(IdentifierKind.NationalInsuranceNumber, "AB123456C", "Smith", new DateOnly(1990, 1, 1)));
    }

    [Theory]
    [InlineData("AB123456C")]
    [InlineData("ab123456c")]
    [InlineData("AB 12 34 56 C")]
    [InlineData("\tCE234567A ")]
    [InlineData("ZA123456D")]
    public void Validate_AcceptsWellFormedNationalInsuranceNumbers(string ni)
    {
        Validate(Smith(new SubjectBody(ni, null, "Smith", "1990-01-01"))).Request.Should().NotBeNull();
    }

    [Theory]
    [InlineData("DA123456C")] // first letter D
    [InlineData("FA123456C")]
    [InlineData("IA123456C")]
    [InlineData("QA123456C")]
    [InlineData("UA123456C")]
    [InlineData("VA123456C")]
    [InlineData("AD123456C")] // second letter D
    [InlineData("AF123456C")]
    [InlineData("AI123456C")]
    [InlineData("AO123456C")]
    [InlineData("AQ123456C")]
    [InlineData("AU123456C")]
    [InlineData("AV123456C")]
    [InlineData("BG123456C")] // unallocated prefixes
    [InlineData("GB123456C")]
    [InlineData("NK123456C")]
    [InlineData("KN123456C")]
    [InlineData("TN123456C")]
    [InlineData("NT123456C")]
    [InlineData("ZZ123456C")]
    [InlineData("AB123456E")] // suffix beyond D
    [InlineData("AB12345C")] // five digits
    [InlineData("AB1234567C")]
    [InlineData("AB123456")]
    [InlineData("A1234567C")]
    [InlineData("AB12345６C")] // a full-width digit is not a digit here
    public void Validate_RefusesMalformedNationalInsuranceNumbers(string ni)
    {
        var result = Validate(Smith(new SubjectBody(ni, null, "Smith", "1990-01-01")));

        result.Request.Should().BeNull();
        result.Errors.ToDictionary().Keys.Should().Equal("subject.nationalInsuranceNumber");
    }

    [Theory]
    [InlineData("240712349")]
    [InlineData("2407123490")]
    [InlineData("24 07 12349")]
    public void Validate_AcceptsWellFormedNassNumbers(string nass)
    {
        var result = Validate(Smith(new SubjectBody(null, nass, "Khan", "1990-01-01")));

        result.Request!.Subject.IdentifierKind.Should().Be(IdentifierKind.NationalAsylumSeekerServiceNumber);
        result.Request.Subject.Identifier.Should().MatchRegex("^[0-9]+$");
    }

    [Theory]
    [InlineData("240012349")] // month 00
    [InlineData("241312349")] // month 13
    [InlineData("24071234")] // too short
    [InlineData("24071234901")] // too long
    [InlineData("24071234A")]
    public void Validate_RefusesMalformedNassNumbers(string nass)
    {
        Validate(Smith(new SubjectBody(null, nass, "Khan", "1990-01-01"))).Errors.ToDictionary().Keys
            .Should().Equal("subject.nationalAsylumSeekerServiceNumber");
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("", "  ")]
    [InlineData("AB123456C", "240712349")]
    public void Validate_RequiresExactlyOneIdentifier(string? ni, string? nass)
    {
        Validate(Smith(new SubjectBody(ni, nass, "Smith", "1990-01-01"))).Errors.ToDictionary().Keys
            .Should().BeEquivalentTo("subject.nationalInsuranceNumber", "subject.nationalAsylumSeekerServiceNumber");
    }

    [Theory]
    [InlineData("Smith")]
    [InlineData("O'Brien")]
    [InlineData("O’Brien")]
    [InlineData("Smith-Jones")]
    [InlineData("van der Berg")]
    [InlineData("Müller")]
    [InlineData("Mu\u0308ller")] // decomposed umlaut
    [InlineData("Ó Súilleabháin")]
    [InlineData("Иванова")]
    [InlineData("محمد")]
    [InlineData("李")]
    public void Validate_AcceptsNamesInAnyScript(string lastName)
    {
        Validate(Smith(new SubjectBody("AB123456C", null, lastName, "1990-01-01"))).Request.Should().NotBeNull();
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("Smith2")]
    [InlineData("Smith; DROP TABLE checks")]
    [InlineData("<script>")]
    [InlineData("Smith\u0000")]
    [InlineData("Smith\u202E")] // right-to-left override
    [InlineData("Sm\u200Bith")] // zero-width space
    [InlineData("😀")]
    public void Validate_RefusesNamesWithAnythingButLettersSpacesHyphensAndApostrophes(string lastName)
    {
        Validate(Smith(new SubjectBody("AB123456C", null, lastName, "1990-01-01"))).Errors.ToDictionary().Keys
            .Should().Equal("subject.lastName");
    }

    [Fact]
    public void Validate_RefusesALastNameOverOneHundredCharacters()
    {
        Validate(Smith(new SubjectBody("AB123456C", null, new string('a', 100), "1990-01-01"))).Request.Should().NotBeNull();
        Validate(Smith(new SubjectBody("AB123456C", null, new string('a', 101), "1990-01-01"))).Errors.ToDictionary()
            .Should().ContainKey("subject.lastName").WhoseValue.Should().ContainMatch("*100*");
    }

    [Theory]
    [InlineData("1990-02-30", "real date")]
    [InlineData("1990-1-1", "real date")]
    [InlineData("01/01/1990", "real date")]
    [InlineData("1990-01-01T00:00:00Z", "real date")]
    [InlineData("2026-11-23", "future")]
    [InlineData("1899-12-31", "1900-01-01")]
    [InlineData("", "required")]
    public void Validate_RefusesImpossibleDatesOfBirth(string dateOfBirth, string expected)
    {
        Validate(Smith(new SubjectBody("AB123456C", null, "Smith", dateOfBirth))).Errors.ToDictionary()
            .Should().ContainKey("subject.dateOfBirth").WhoseValue.Should().ContainMatch($"*{expected}*");
    }

    [Theory]
    [InlineData("2026-11-22")]
    [InlineData("1900-01-01")]
    [InlineData("1992-02-29")]
    public void Validate_AcceptsBoundaryDatesOfBirth(string dateOfBirth)
    {
        Validate(Smith(new SubjectBody("AB123456C", null, "Smith", dateOfBirth))).Request.Should().NotBeNull();
    }

    [Theory]
    [InlineData(null, "required")]
    [InlineData("", "required")]
    [InlineData("   ", "blank")]
    [InlineData("FSM\n2026", "printable")]
    [InlineData("FSM\u0007", "printable")]
    public void Validate_RefusesAMissingOrUnprintableCaseReference(string? caseReference, string expected)
    {
        Validate(Smith(caseReference: caseReference)).Errors.ToDictionary()
            .Should().ContainKey("caseReference").WhoseValue.Should().ContainMatch($"*{expected}*");
    }

    [Fact]
    public void Validate_AcceptsCaseReferencesOfOneToSixtyFourCharacters()
    {
        Validate(Smith(caseReference: "x")).Request.Should().NotBeNull();
        Validate(Smith(caseReference: new string('x', 64))).Request.Should().NotBeNull();
        Validate(Smith(caseReference: new string('x', 65))).Errors.ToDictionary().Keys.Should().Equal("caseReference");
    }

    [Theory]
    [InlineData(null, "scheme")]
    [InlineData("school-uniform-grant", "scheme")]
    public void Validate_RefusesAMissingOrUnknownScheme(string? scheme, string field)
    {
        Validate(Smith(scheme: scheme)).Errors.ToDictionary().Keys.Should().Equal(field);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("legitimate-interest")]
    [InlineData("Consent")]
    public void Validate_RefusesALawfulBasisOtherThanConsentOrPublicTask(string? basis)
    {
        Validate(Smith(basis: basis)).Errors.ToDictionary().Keys.Should().Equal("lawfulBasis");
    }

    [Fact]
    public void Validate_ReportsEveryFailingFieldAtOnce()
    {
        var body = new CheckRequestBody(null, null, null, new SubjectBody("XX", null, "1", "tomorrow"));

        Validate(body).Errors.ToDictionary().Keys.Should().BeEquivalentTo(
            "scheme", "lawfulBasis", "caseReference", "subject.nationalInsuranceNumber", "subject.lastName", "subject.dateOfBirth");
    }

    [Theory]
    [InlineData("""{"scheme":"free-school-meals","extra":1}""", "extra")]
    [InlineData("""{"scheme":"free-school-meals","subject":{"nino":"AB123456C"}}""", "subject.nino")]
    [InlineData("""{"scheme":"free-school-meals","scheme":"council-tax-support"}""", "scheme")]
    [InlineData("""{"scheme":7}""", "scheme")]
    [InlineData("""{"subject":{"dateOfBirth":19900101}}""", "subject.dateOfBirth")]
    [InlineData("""{"Scheme":"free-school-meals"}""", "Scheme")]
    [InlineData("""[1,2]""", "body")]
    public void JsonReading_RefusesUnknownRepeatedOrMistypedMembers_NamingTheField(string json, string field)
    {
        var read = () => JsonSerializer.Deserialize<CheckRequestBody>(json, CheckRequestValidator.JsonOptions);

        var failure = read.Should().Throw<JsonException>().Which;
        CheckRequestValidator.FieldOf(failure).Should().Be(field);
    }
}
