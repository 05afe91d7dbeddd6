using System.Net;
using System.Text;
using EligibilityGateway.ProviderContracts;
using EligibilityGateway.Providers;
using Refit;

namespace EligibilityGateway.Tests.Providers;

/// <summary>
/// How the generated HMRC client writes a request and how its answers are read, including answers the mock never
/// gives (bodies that break the contract), through a handler that returns one fixed response. Everything the mock can
/// give is tested over real HTTP elsewhere; misbehaving connections in <c>ProviderMisbehaviourTests</c>.
/// </summary>
public sealed class ProviderHttpTests
{
    private static readonly ProviderEndpoint Endpoint = new("hmrc", new Uri("http://127.0.0.1:9/hmrc"), "hmrc-sandbox-credential");
    private static readonly ProviderCaller Caller = new("4bf92f3577b34da6a3ce929d0e0e4736", "leeds", "free-school-meals", "dpv:ServiceProvision");
    private static readonly NationalInsuranceLookupRequest Taylor = NationalInsuranceLookupRequest.For("EH345678B", "Taylor", new DateOnly(1978, 11, 30));

    [Theory]
    [InlineData("not json")]
    [InlineData("null")]
    [InlineData("""{"taxYear":"2026-27","awards":[]}""")]
    [InlineData("""{"taxYear":"2026-27","annualHouseholdIncome":"14200","awards":[]}""")]
    [InlineData("""{"taxYear":"2026-27","annualHouseholdIncome":14200,"awards":[{"type":"universal-tax-credit","status":"in-payment","startDate":"2026-04-06","endDate":null}]}""")]
    [InlineData("""{"taxYear":"2026-27","annualHouseholdIncome":14200,"awards":null}""")]
    [InlineData("""{"TaxYear":"2026-27","AnnualHouseholdIncome":14200,"Awards":[]}""")]
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

    // "No match" is the commonest answer a provider gives. Refit's default exception factory read its problem+json
    // body through the contract-only serializer, which threw and caught a NotSupportedException on every one.
    [Fact]
    public async Task Lookup_WithNoMatchProblem_ThrowsNoExceptionOnTheWay()
    {
        var thrown = new List<string>();
        var inThisTest = new AsyncLocal<bool> { Value = true };
        void Record(object? sender, System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs args)
        {
            if (inThisTest.Value)
            {
                lock (thrown)
                {
                    thrown.Add(args.Exception.GetType().Name);
                }
            }
        }

        AppDomain.CurrentDomain.FirstChanceException += Record;
        try
        {
            var result = await LookupAsync(HttpStatusCode.NotFound, "application/problem+json",
                """{"type":"urn:mock-central-government:problem:no-match","title":"No match","status":404}""");

            result.Kind.Should().Be(ProviderResultKind.NotFound);
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= Record;
        }

        thrown.Should().BeEmpty();
    }

    [Theory]
    [InlineData("""{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.5","title":"Not Found","status":404}""")]
    [InlineData("<html>not found</html>")]
    [InlineData("")]
    public async Task Lookup_WithAnyOther404_FailsRatherThanNotFound(string body)
    {
        var result = await LookupAsync(HttpStatusCode.NotFound, "application/problem+json", body);

        result.Should().Be(ProviderResult<TaxCreditsResponse>.Failed("HTTP 404"));
    }

    [Theory]
    [InlineData(HttpStatusCode.Unauthorized, "credential refused (HTTP 401)")]
    [InlineData(HttpStatusCode.BadRequest, "HTTP 400")]
    [InlineData(HttpStatusCode.ServiceUnavailable, "HTTP 503")]
    [InlineData(HttpStatusCode.Created, "HTTP 201")]
    public async Task Lookup_WithAnyOtherStatus_FailsNamingIt(HttpStatusCode status, string reason)
    {
        var result = await LookupAsync(status, "application/problem+json", """{"type":"urn:x","title":"x","status":1}""");

        result.Should().Be(ProviderResult<TaxCreditsResponse>.Failed(reason));
    }

    [Fact]
    public async Task Lookup_WhenTheConnectionFails_FailsAsConnectionFailed()
    {
        using var handler = new ProviderEndpointHandler(TimeProvider.System) { InnerHandler = new ThrowingHandler(new HttpRequestException("refused")) };
        using var httpClient = new HttpClient(handler) { BaseAddress = ProviderEndpointHandler.PlaceholderBaseAddress };
        var hmrc = RestService.ForGenerated<IHmrcApi>(httpClient, ProviderRefit.Settings);

        var result = await ProviderResponses.ReadAsync(
            hmrc.LookupTaxCreditsAsync(Taylor, Endpoint.Credential, Caller.CorrelationId, Caller.RequestingOrganisation, Caller.Scheme, Caller.Purpose, Endpoint, CancellationToken.None),
            noMatchIsNotFound: true,
            CancellationToken.None);

        result.Should().Be(ProviderResult<TaxCreditsResponse>.Failed(ProviderFailureReasons.ConnectionFailed));
    }

    [Fact]
    public async Task Lookup_WhenTheCallerCancels_Throws()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        using var handler = new ProviderEndpointHandler(TimeProvider.System) { InnerHandler = new FixedResponseHandler(HttpStatusCode.OK, "application/json", "{}") };
        using var httpClient = new HttpClient(handler) { BaseAddress = ProviderEndpointHandler.PlaceholderBaseAddress };
        var hmrc = RestService.ForGenerated<IHmrcApi>(httpClient, ProviderRefit.Settings);

        var act = () => ProviderResponses.ReadAsync(
            hmrc.LookupTaxCreditsAsync(Taylor, Endpoint.Credential, Caller.CorrelationId, Caller.RequestingOrganisation, Caller.Scheme, Caller.Purpose, Endpoint, cancelled.Token),
            noMatchIsNotFound: true,
            cancelled.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
    }

    private static async Task<ProviderResult<TaxCreditsResponse>> LookupAsync(HttpStatusCode status, string mediaType, string body)
    {
        var fixedResponse = new FixedResponseHandler(status, mediaType, body);
        using var handler = new ProviderEndpointHandler(TimeProvider.System) { InnerHandler = fixedResponse };
        using var httpClient = new HttpClient(handler) { BaseAddress = ProviderEndpointHandler.PlaceholderBaseAddress };
        var hmrc = RestService.ForGenerated<IHmrcApi>(httpClient, ProviderRefit.Settings);

        var result = await ProviderResponses.ReadAsync(
            hmrc.LookupTaxCreditsAsync(Taylor, Endpoint.Credential, Caller.CorrelationId, Caller.RequestingOrganisation, Caller.Scheme, Caller.Purpose, Endpoint, CancellationToken.None),
            noMatchIsNotFound: true,
            CancellationToken.None);

        fixedResponse.Requests.Should().ContainSingle();
        var request = fixedResponse.Requests[0];
        request.Method.Should().Be("POST");
        request.Uri.Should().Be(new Uri("http://127.0.0.1:9/hmrc/v1/tax-credits/lookup"));
        request.Headers["Authorization"].Should().Be("Bearer hmrc-sandbox-credential");
        request.Headers["X-Correlation-Id"].Should().Be("4bf92f3577b34da6a3ce929d0e0e4736");
        request.Headers["X-Requesting-Organisation"].Should().Be("leeds");
        request.Headers["X-Scheme"].Should().Be("free-school-meals");
        request.Headers["X-Purpose"].Should().Be("dpv:ServiceProvision");
        request.Headers["Accept"].Should().Contain("application/json").And.Contain("application/problem+json");
        request.ContentType.Should().StartWith("application/json");
        request.ContentLength.Should().Be(request.Body.Length, "the body is buffered, so a retry can send it again");
        request.Body.Should().Be("""{"nationalInsuranceNumber":"EH345678B","lastName":"Taylor","dateOfBirth":"1978-11-30"}""");
        return result;
    }

    private sealed record SeenRequest(string Method, Uri? Uri, IReadOnlyDictionary<string, string> Headers, string? ContentType, long? ContentLength, string Body);

    private sealed class FixedResponseHandler(HttpStatusCode status, string mediaType, string body) : HttpMessageHandler
    {
        public List<SeenRequest> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var headers = request.Headers.ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase);
            Requests.Add(new SeenRequest(
                request.Method.Method,
                request.RequestUri,
                headers,
                request.Content?.Headers.ContentType?.ToString(),
                request.Content?.Headers.ContentLength,
                await request.Content!.ReadAsStringAsync(cancellationToken)));
            return new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, mediaType), RequestMessage = request };
        }
    }

    private sealed class ThrowingHandler(Exception exception) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromException<HttpResponseMessage>(exception);
    }
}
