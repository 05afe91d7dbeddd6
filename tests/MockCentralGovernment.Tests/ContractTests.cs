using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace MockCentralGovernment.Tests;

/// <summary>
/// The running mock matches contracts/providers. Every response in these tests is already checked by
/// <see cref="ContractCheckingHandler"/>; these tests prove the route table and the documents agree, and that the
/// check itself can fail.
/// </summary>
public sealed class ContractTests(MockGovernmentFixture mock) : IClassFixture<MockGovernmentFixture>
{
    private static readonly string[] HttpMethods = ["GET", "PUT", "POST", "PATCH", "DELETE"];

    [Fact]
    public void Contracts_DeclareExactlyTheOperationsTheMockServes()
    {
        var served = mock.Services.GetServices<EndpointDataSource>()
            .SelectMany(source => source.Endpoints)
            .OfType<RouteEndpoint>()
            .SelectMany(endpoint => (endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(method => $"{method} {endpoint.RoutePattern.RawText}"))
            .ToHashSet();
        var declared = ProviderContracts.Instance.Operations().Select(o => $"{o.Method} {o.Path}").ToHashSet();

        served.Should().BeEquivalentTo(declared);
    }

    [Theory]
    [InlineData("dwp")]
    [InlineData("hmrc")]
    [InlineData("home-office")]
    public void ProviderContract_IsOpenApi31WithBearerSecurityAndAProblemForEveryError(string name)
    {
        var document = ProviderContracts.Instance.Document(name);

        document.GetProperty("openapi").GetString().Should().Be("3.1.0");
        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("providerCredential");
        scheme.GetProperty("type").GetString().Should().Be("http");
        scheme.GetProperty("scheme").GetString().Should().Be("bearer");
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => HttpMethods.Contains(o.Name.ToUpperInvariant())))
            {
                var responses = operation.Value.GetProperty("responses").EnumerateObject().ToList();
                responses.Select(r => r.Name).Should().Contain(["200", "401", "404", "500", "503", "504"], $"{operation.Name} {path.Name} can answer each of them");
                responses.Where(r => r.Name[0] is '4' or '5')
                    .Should().OnlyContain(r => r.Value.GetProperty("content").EnumerateObject().Single().Name == "application/problem+json");
            }
        }
    }

    [Theory]
    [InlineData("dwp", "CitizenMatchRequest")]
    [InlineData("dwp", "ClaimsResponse")]
    [InlineData("dwp", "BenefitClaim")]
    [InlineData("hmrc", "TaxCreditsResponse")]
    [InlineData("hmrc", "TaxCreditAward")]
    [InlineData("home-office", "AsylumSupportLookupRequest")]
    [InlineData("home-office", "AsylumSupport")]
    [InlineData("control", "ProviderFaultSettings")]
    [InlineData("control", "FaultSettingsChange")]
    [InlineData("control", "RecordedCall")]
    [InlineData("control", "RecordedCallList")]
    public void ClosedSchemas_ForbidAdditionalProperties(string name, string schema)
    {
        var definition = ProviderContracts.Instance.Document(name).GetProperty("components").GetProperty("schemas").GetProperty(schema);

        definition.GetProperty("additionalProperties").ValueKind.Should().Be(JsonValueKind.False);
    }

    [Fact]
    public void Check_WhenABodyBreaksTheSchema_ReportsIt()
    {
        var body = Encoding.UTF8.GetBytes("""{"citizenId":"not-a-uuid","extra":1}""");

        var failures = ProviderContracts.Instance.Check("POST", "/dwp/v1/citizens/match", null, null, HttpStatusCode.OK, "application/json", body);

        failures.Should().HaveCount(2);
        failures.Should().Contain(f => f.Contains("/citizenId", StringComparison.Ordinal)).And.Contain(f => f.Contains("/extra", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("POST", "/dwp/v1/citizens/match", HttpStatusCode.Conflict, "application/problem+json", "not declared")]
    [InlineData("POST", "/dwp/v1/citizens/match", HttpStatusCode.OK, "text/html", "media type")]
    [InlineData("GET", "/dwp/v1/citizens/match", HttpStatusCode.OK, "application/json", "no GET")]
    [InlineData("GET", "/hmrc/v1/nowhere", HttpStatusCode.OK, "application/json", "no path")]
    public void Check_WhenStatusMediaTypeOrOperationIsUndeclared_ReportsIt(string method, string path, HttpStatusCode status, string mediaType, string expected)
    {
        var failures = ProviderContracts.Instance.Check(method, path, null, null, status, mediaType, Encoding.UTF8.GetBytes("{}"));

        failures.Should().ContainSingle().Which.Should().Contain(expected);
    }

    [Fact]
    public void Check_WhenAnAcceptedRequestBreaksTheRequestSchema_ReportsIt()
    {
        var request = Encoding.UTF8.GetBytes("""{"nationalInsuranceNumber":"AB123456C","lastName":"Smith"}""");
        var response = Encoding.UTF8.GetBytes("""{"citizenId":"3f6b1c2e-8d4a-4e7b-9a51-2c0d7e9f1a01"}""");

        var failures = ProviderContracts.Instance.Check("POST", "/dwp/v1/citizens/match", "application/json", request, HttpStatusCode.OK, "application/json", response);

        failures.Should().ContainSingle().Which.Should().Contain("dateOfBirth");
    }

    [Fact]
    public async Task Health_EndpointsAnswerAsDeclared()
    {
        using var client = mock.Client();

        using var live = await client.GetAsync("/health/live");
        using var ready = await client.GetAsync("/health/ready");

        live.StatusCode.Should().Be(HttpStatusCode.OK);
        ready.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Exchanges_MadeThroughTheTestClients_AreCheckedAgainstTheContract()
    {
        var before = mock.Contracts.Checked;

        using var response = await mock.Client(MockGovernmentFixture.HmrcCredential).TaxCreditsAsync("EH345678B", "Taylor", "1978-11-30");

        mock.Contracts.Checked.Should().Be(before + 1);
    }
}
