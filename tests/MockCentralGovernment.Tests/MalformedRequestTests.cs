using System.Net;

namespace MockCentralGovernment.Tests;

/// <summary>Malformed input of every kind gets a 4xx problem naming what is wrong — never a 5xx.</summary>
public sealed class MalformedRequestTests(MockGovernmentFixture mock) : IClassFixture<MockGovernmentFixture>
{
    private readonly HttpClient _dwp = mock.Client(MockGovernmentFixture.DwpCredential);
    private readonly HttpClient _homeOffice = mock.Client(MockGovernmentFixture.HomeOfficeCredential);

    [Theory]
    [InlineData("""{"nationalInsuranceNumber":"DA123456C","lastName":"Smith","dateOfBirth":"1990-01-01"}""", "nationalInsuranceNumber")]
    [InlineData("""{"nationalInsuranceNumber":"AO123456C","lastName":"Smith","dateOfBirth":"1990-01-01"}""", "nationalInsuranceNumber")]
    [InlineData("""{"nationalInsuranceNumber":"GB123456C","lastName":"Smith","dateOfBirth":"1990-01-01"}""", "nationalInsuranceNumber")]
    [InlineData("""{"nationalInsuranceNumber":"AB123456E","lastName":"Smith","dateOfBirth":"1990-01-01"}""", "nationalInsuranceNumber")]
    [InlineData("""{"nationalInsuranceNumber":"AB12345C","lastName":"Smith","dateOfBirth":"1990-01-01"}""", "nationalInsuranceNumber")]
    [InlineData("""{"lastName":"Smith","dateOfBirth":"1990-01-01"}""", "nationalInsuranceNumber")]
    [InlineData("""{"nationalInsuranceNumber":12345,"lastName":"Smith","dateOfBirth":"1990-01-01"}""", "nationalInsuranceNumber")]
    [InlineData("""{"nationalInsuranceNumber":"AB123456C","lastName":"Sm1th","dateOfBirth":"1990-01-01"}""", "lastName")]
    [InlineData("""{"nationalInsuranceNumber":"AB123456C","lastName":"Robert'); DROP TABLE citizens;--","dateOfBirth":"1990-01-01"}""", "lastName")]
    [InlineData("""{"nationalInsuranceNumber":"AB123456C","lastName":"   ","dateOfBirth":"1990-01-01"}""", "lastName")]
    [InlineData("""{"nationalInsuranceNumber":"AB123456C","lastName":null,"dateOfBirth":"1990-01-01"}""", "lastName")]
    [InlineData("""{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"1990-02-30"}""", "dateOfBirth")]
    [InlineData("""{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"01/01/1990"}""", "dateOfBirth")]
    [InlineData("""{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"1899-12-31"}""", "dateOfBirth")]
    [InlineData("""{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":19900101}""", "dateOfBirth")]
    [InlineData("""{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"1990-01-01","middleName":"X"}""", "middleName")]
    [InlineData("""{"NationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"1990-01-01"}""", "NationalInsuranceNumber")]
    [InlineData("{\"nationalInsuranceNumber\":\"AB123456C\",\"lastName\":\"Smith\"", "body")]
    [InlineData("""[{"nationalInsuranceNumber":"AB123456C"}]""", "body")]
    [InlineData("null", "body")]
    [InlineData("", "body")]
    public async Task Match_WithAMalformedBody_Answers400NamingTheField(string body, string field)
    {
        using var response = await _dwp.PostRawAsync(Api.DwpMatch, body);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.JsonAsync();
        problem.GetProperty("type").GetString().Should().Be("urn:mock-central-government:problem:validation");
        problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).Should().Contain(field);
    }

    [Theory]
    [InlineData("241312349")]
    [InlineData("24071234")]
    [InlineData("24071234901")]
    [InlineData("AB0712349")]
    public async Task AsylumSupportLookup_WithAnInvalidNassNumber_Answers400NamingIt(string nass)
    {
        using var response = await _homeOffice.AsylumSupportAsync(nass, "Khan", "1990-01-01");

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.JsonAsync()).GetProperty("errors").TryGetProperty("nationalAsylumSeekerServiceNumber", out _).Should().BeTrue();
    }

    [Fact]
    public async Task Match_WithABodyThatIsNotJson_Answers415()
    {
        using var response = await _dwp.PostRawAsync(Api.DwpMatch, "nationalInsuranceNumber=AB123456C", "application/x-www-form-urlencoded");

        response.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task Match_WithABodyOver16KiB_Answers413()
    {
        var padding = new string('a', 20_000);
        using var response = await _dwp.PostRawAsync(Api.DwpMatch, $$"""{"nationalInsuranceNumber":"AB123456C","lastName":"{{padding}}","dateOfBirth":"1990-01-01"}""");

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Match_WithAChunkedBodyOver16KiB_Answers413()
    {
        var padding = new string('a', 20_000);
        using var content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes($$"""{"lastName":"{{padding}}"}""")));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, Api.DwpMatch) { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await _dwp.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
    }

    [Theory]
    [InlineData("Ní Bhriain")]
    [InlineData("O'Brien")]
    [InlineData("O’Brien")]
    [InlineData("Smith-Jones")]
    [InlineData("Müller")]
    [InlineData("李")]
    public async Task Match_WithASurnameOfLettersHyphensOrApostrophes_IsValidAndSimplyNotFound(string lastName)
    {
        using var response = await _dwp.MatchCitizenAsync("AB123456C", lastName, "1990-01-01");

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }
}
