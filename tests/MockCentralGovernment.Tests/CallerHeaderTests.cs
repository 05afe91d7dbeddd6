using System.Net;
using System.Text.Json;
using EligibilityGateway.ProviderContracts;

namespace MockCentralGovernment.Tests;

/// <summary>
/// Every provider call must say who asks and why (X-Correlation-Id, X-Requesting-Organisation, X-Scheme, X-Purpose);
/// the mock refuses one that does not, and records every call with its caller headers at <c>/_control/calls</c>.
/// </summary>
public sealed class CallerHeaderTests(MockGovernmentFixture mock) : IClassFixture<MockGovernmentFixture>, IAsyncLifetime
{
    private const string Calls = "/_control/calls";
    private const string CallerHeadersProblem = "urn:mock-central-government:problem:caller-headers";

    private readonly HttpClient _control = mock.Client();

    public async Task InitializeAsync()
    {
        using var cleared = await _control.DeleteAsync(Calls);
        cleared.StatusCode.Should().Be(HttpStatusCode.NoContent);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [InlineData(Api.DwpMatch, MockGovernmentFixture.DwpCredential)]
    [InlineData(Api.HmrcLookup, MockGovernmentFixture.HmrcCredential)]
    [InlineData(Api.HomeOfficeLookup, MockGovernmentFixture.HomeOfficeCredential)]
    public async Task Lookup_WithoutCallerHeaders_Answers400NamingEachOne(string path, string credential)
    {
        using var client = mock.Client(credential, callerHeaders: false);

        using var response = await client.PostRawAsync(path, ValidBodyFor(path));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var problem = await response.JsonAsync();
        problem.GetProperty("type").GetString().Should().Be(CallerHeadersProblem);
        problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).Should().BeEquivalentTo(ProviderCallerHeaders.All);
    }

    [Theory]
    [InlineData(ProviderCallerHeaders.CorrelationId)]
    [InlineData(ProviderCallerHeaders.RequestingOrganisation)]
    [InlineData(ProviderCallerHeaders.Scheme)]
    [InlineData(ProviderCallerHeaders.Purpose)]
    public async Task Match_WithOneCallerHeaderMissing_Answers400NamingOnlyThatOne(string missing)
    {
        using var response = await SendMatchAsync(headers => headers.Remove(missing));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var errors = (await response.JsonAsync()).GetProperty("errors");
        errors.EnumerateObject().Select(e => e.Name).Should().Equal(missing);
    }

    [Theory]
    [InlineData(ProviderCallerHeaders.CorrelationId, "not-a-trace-id")]
    [InlineData(ProviderCallerHeaders.CorrelationId, "4BF92F3577B34DA6A3CE929D0E0E4736")]
    [InlineData(ProviderCallerHeaders.CorrelationId, "00000000000000000000000000000000")]
    [InlineData(ProviderCallerHeaders.CorrelationId, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]
    [InlineData(ProviderCallerHeaders.RequestingOrganisation, "Leeds City Council")]
    [InlineData(ProviderCallerHeaders.RequestingOrganisation, "-leeds")]
    [InlineData(ProviderCallerHeaders.Scheme, "free school meals")]
    [InlineData(ProviderCallerHeaders.Purpose, "dpv:Service Provision")]
    public async Task Match_WithAMalformedCallerHeader_Answers400NamingIt(string header, string value)
    {
        using var response = await SendMatchAsync(headers => headers[header] = value);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.JsonAsync();
        problem.GetProperty("type").GetString().Should().Be(CallerHeadersProblem);
        problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).Should().Equal(header);
    }

    [Fact]
    public async Task Match_WithACallerHeaderSentTwice_Answers400()
    {
        using var client = mock.Client(MockGovernmentFixture.DwpCredential, callerHeaders: false);
        using var request = new HttpRequestMessage(HttpMethod.Post, Api.DwpMatch)
        {
            Content = new StringContent(ValidBodyFor(Api.DwpMatch), System.Text.Encoding.UTF8, "application/json"),
        };
        Api.AddCallerHeaders(request.Headers);
        request.Headers.Add(ProviderCallerHeaders.Scheme, "council-tax-support");

        using var response = await client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.JsonAsync()).GetProperty("errors").EnumerateObject().Select(e => e.Name).Should().Equal(ProviderCallerHeaders.Scheme);
    }

    [Fact]
    public async Task Claims_WithoutCallerHeaders_Answers400()
    {
        var citizenId = await mock.Client(MockGovernmentFixture.DwpCredential).MatchedCitizenIdAsync("AB123456C", "Smith", "1990-01-01");
        using var client = mock.Client(MockGovernmentFixture.DwpCredential, callerHeaders: false);

        using var response = await client.ClaimsAsync(citizenId);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.JsonAsync()).GetProperty("type").GetString().Should().Be(CallerHeadersProblem);
    }

    [Fact]
    public async Task Match_WithoutCredentialOrCallerHeaders_Answers401First()
    {
        using var client = mock.Client(credential: null, callerHeaders: false);

        using var response = await client.MatchCitizenAsync("AB123456C", "Smith", "1990-01-01");

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Calls_ListEachCallWithItsPathAndCallerHeaders_RefusedOnesToo()
    {
        using var answered = await mock.Client(MockGovernmentFixture.HmrcCredential).TaxCreditsAsync("EH345678B", "Taylor", "1978-11-30");
        using var refused = await mock.Client(MockGovernmentFixture.DwpCredential, callerHeaders: false).MatchCitizenAsync("AB123456C", "Smith", "1990-01-01");
        answered.StatusCode.Should().Be(HttpStatusCode.OK);
        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);

        using var response = await _control.GetAsync(Calls);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var text = await response.Content.ReadAsStringAsync();
        var calls = JsonDocument.Parse(text).RootElement.GetProperty("calls").EnumerateArray().ToList();
        calls.Should().HaveCount(2);
        calls[0].GetProperty("provider").GetString().Should().Be("hmrc");
        calls[0].GetProperty("method").GetString().Should().Be("POST");
        calls[0].GetProperty("path").GetString().Should().Be(Api.HmrcLookup);
        calls[0].GetProperty("correlationId").GetString().Should().Be(Api.CallerHeaders[ProviderCallerHeaders.CorrelationId]);
        calls[0].GetProperty("requestingOrganisation").GetString().Should().Be("leeds");
        calls[0].GetProperty("scheme").GetString().Should().Be("free-school-meals");
        calls[0].GetProperty("purpose").GetString().Should().Be("dpv:ServiceProvision");
        calls[1].GetProperty("path").GetString().Should().Be(Api.DwpMatch);
        calls[1].GetProperty("correlationId").ValueKind.Should().Be(JsonValueKind.Null);
        text.Should().NotContain("EH345678B").And.NotContain("Taylor").And.NotContain("1978-11-30", "bodies are never recorded");
    }

    [Fact]
    public async Task Calls_AfterDelete_AreEmpty()
    {
        using var call = await mock.Client(MockGovernmentFixture.HmrcCredential).TaxCreditsAsync("EH345678B", "Taylor", "1978-11-30");
        using var before = await _control.GetAsync(Calls);
        (await before.JsonAsync()).GetProperty("calls").GetArrayLength().Should().Be(1);

        using var cleared = await _control.DeleteAsync(Calls);
        using var after = await _control.GetAsync(Calls);

        cleared.StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await after.JsonAsync()).GetProperty("calls").GetArrayLength().Should().Be(0);
    }

    private async Task<HttpResponseMessage> SendMatchAsync(Action<Dictionary<string, string>> edit)
    {
        var headers = new Dictionary<string, string>(Api.CallerHeaders);
        edit(headers);
        using var client = mock.Client(MockGovernmentFixture.DwpCredential, callerHeaders: false);
        using var request = new HttpRequestMessage(HttpMethod.Post, Api.DwpMatch)
        {
            Content = new StringContent(ValidBodyFor(Api.DwpMatch), System.Text.Encoding.UTF8, "application/json"),
        };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value).Should().BeTrue();
        }

        return await client.SendAsync(request);
    }

    private static string ValidBodyFor(string path) => path == Api.HomeOfficeLookup
        ? """{"nationalAsylumSeekerServiceNumber":"240712349","lastName":"Khan","dateOfBirth":"1990-01-01"}"""
        : """{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"1990-01-01"}""";
}
