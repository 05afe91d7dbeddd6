using System.Net;
using System.Text;
using EligibilityGateway.Providers;
using EligibilityGateway.ProviderContracts;

namespace EligibilityGateway.Tests.Providers;

/// <summary>
/// How a client reads answers the mock never gives (bodies that break the contract), through a handler that
/// returns one fixed response; everything the mock can give is tested over real HTTP elsewhere.
/// </summary>
public sealed class ProviderHttpTests
{
    private static readonly ProviderEndpoint Endpoint = new("hmrc", new Uri("http://127.0.0.1:9/hmrc"), "hmrc-sandbox-credential");
    private static readonly NationalInsuranceLookupRequest Taylor = NationalInsuranceLookupRequest.For("EH345678B", "Taylor", new DateOnly(1978, 11, 30));

    [Theory]
    [InlineData("not json")]
    [InlineData("null")]
    [InlineData("""{"taxYear":"2026-27","awards":[]}""")]
    [InlineData("""{"taxYear":"2026-27","annualHouseholdIncome":"14200","awards":[]}""")]
    [InlineData("""{"taxYear":"2026-27","annualHouseholdIncome":14200,"awards":[{"type":"universal-tax-credit","status":"in-payment","startDate":"2026-04-06","endDate":null}]}""")]
    [InlineData("""{"taxYear":"2026-27","annualHouseholdIncome":14200,"awards":null}""")]
    public async Task Lookup_WithBodyOutsideTheContract_FailsAsMalformed(string body)
    {
        var result = await LookupAsync(HttpStatusCode.OK, "application/json", body);

        result.Should().Be(ProviderResult<TaxCreditsResponse>.Failed(ProviderFailureReasons.MalformedResponse));
    }

    [Fact]
    public async Task Lookup_WithExtraMembers_ReadsTheOnesTheContractNames()
    {
        var result = await LookupAsync(HttpStatusCode.OK, "application/json",
            """{"taxYear":"2026-27","annualHouseholdIncome":14200.00,"awards":[{"type":"child-tax-credit","status":"in-payment","startDate":"2026-04-06","endDate":null,"note":"x"}],"source":"y"}""");

        result.Kind.Should().Be(ProviderResultKind.Found);
        result.Value!.AnnualHouseholdIncome.Should().Be(14200m);
        result.Value.Awards.Should().ContainSingle().Which.Type.Should().Be(TaxCreditType.ChildTaxCredit);
    }

    [Fact]
    public async Task Lookup_WithNoMatchProblem_IsNotFound()
    {
        var result = await LookupAsync(HttpStatusCode.NotFound, "application/problem+json",
            """{"type":"urn:mock-central-government:problem:no-match","title":"No match","status":404}""");

        result.Kind.Should().Be(ProviderResultKind.NotFound);
    }

    [Theory]
    [InlineData("""{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.5","title":"Not Found","status":404}""")]
    [InlineData("<html>not found</html>")]
    public async Task Lookup_WithAnyOther404_FailsRatherThanNotFound(string body)
    {
        var result = await LookupAsync(HttpStatusCode.NotFound, "application/problem+json", body);

        result.Should().Be(ProviderResult<TaxCreditsResponse>.Failed("HTTP 404"));
    }

    private static async Task<ProviderResult<TaxCreditsResponse>> LookupAsync(HttpStatusCode status, string mediaType, string body)
    {
        using var handler = new FixedResponseHandler(status, mediaType, body);
        using var httpClient = new HttpClient(handler);
        var result = await new HmrcClient(httpClient).LookupTaxCreditsAsync(Endpoint, Taylor, CancellationToken.None);

        handler.Requests.Should().ContainSingle();
        var request = handler.Requests[0];
        request.Uri.Should().Be(new Uri("http://127.0.0.1:9/hmrc/v1/tax-credits/lookup"));
        request.Authorization.Should().Be("Bearer hmrc-sandbox-credential");
        request.Body.Should().Be("""{"nationalInsuranceNumber":"EH345678B","lastName":"Taylor","dateOfBirth":"1978-11-30"}""");
        return result;
    }

    private sealed record SeenRequest(Uri? Uri, string? Authorization, string Body);

    private sealed class FixedResponseHandler(HttpStatusCode status, string mediaType, string body) : HttpMessageHandler
    {
        public List<SeenRequest> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(new SeenRequest(request.RequestUri, request.Headers.Authorization?.ToString(), await request.Content!.ReadAsStringAsync(cancellationToken)));
            return new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, mediaType) };
        }
    }
}
