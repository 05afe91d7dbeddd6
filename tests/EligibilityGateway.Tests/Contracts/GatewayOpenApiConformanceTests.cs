using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Authorization;
using EligibilityGateway.Checks;
using EligibilityGateway.Consents;
using EligibilityGateway.OpenApi;
using EligibilityGateway.Tests.EndToEnd;

namespace EligibilityGateway.Tests.Contracts;

/// <summary>
/// The committed contract tells the truth: real answers of the sandbox composition, of every kind the document
/// promises, conform to the documented status, media type, headers and schema; and the request schema accepts
/// exactly what the gateway accepts.
/// </summary>
public sealed class GatewayOpenApiConformanceTests(SandboxFixture sandbox) : IClassFixture<SandboxFixture>
{
    [Fact]
    public async Task CheckAnswer_ConformsToTheDocumentedResponse()
    {
        var token = await sandbox.TokenAsync();

        using var posted = await sandbox.PostCheckAsync(token, Subjects.Check(Subjects.Smith, caseReference: "FSM-CONTRACT-1"));
        var answer = await ConformsAsync("/v1/checks", "POST", posted, HttpStatusCode.OK);
        using var read = await sandbox.GetCheckAsync(token, answer.GetProperty("checkId").GetString()!);
        await ConformsAsync("/v1/checks/{checkId}", "GET", read, HttpStatusCode.OK);
    }

    [Fact]
    public async Task ValidationProblem_ConformsToTheDocumentedResponse()
    {
        var token = await sandbox.TokenAsync();

        using var response = await sandbox.PostCheckAsync(token, Subjects.Check("""{"nationalInsuranceNumber":"DA123456C","lastName":"Smith","dateOfBirth":"1990-02-30"}"""));

        var problem = await ConformsAsync("/v1/checks", "POST", response, HttpStatusCode.BadRequest);
        problem.GetProperty("type").GetString().Should().Be(CheckProblems.ValidationType);
        problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).Should().BeEquivalentTo("subject.nationalInsuranceNumber", "subject.dateOfBirth");
    }

    [Fact]
    public async Task MalformedJsonProblem_ConformsToTheDocumentedResponse()
    {
        var token = await sandbox.TokenAsync();

        using var response = await sandbox.PostCheckAsync(token, """{"scheme":"free-school-meals","colour":"blue"}""");

        var problem = await ConformsAsync("/v1/checks", "POST", response, HttpStatusCode.BadRequest);
        problem.GetProperty("type").GetString().Should().Be(CheckProblems.MalformedJsonType);
    }

    [Fact]
    public async Task NotPermittedProblem_ConformsToTheDocumentedResponseAndNamesItsRule()
    {
        var token = await sandbox.TokenAsync("camden");

        using var response = await sandbox.PostCheckAsync(token, Subjects.Check(Subjects.Smith, basis: "public-task"));

        var problem = await ConformsAsync("/v1/checks", "POST", response, HttpStatusCode.Forbidden);
        problem.GetProperty("type").GetString().Should().Be(CheckProblems.ForbiddenType);
        problem.GetProperty("rule").GetString().Should().NotBeNullOrEmpty();
    }

    [Fact]
    public async Task AuthenticationAndScopeProblems_ConformToTheDocumentedResponses()
    {
        using var anonymous = await sandbox.PostCheckAsync(token: null, Subjects.Check(Subjects.Smith));
        await ConformsAsync("/v1/checks", "POST", anonymous, HttpStatusCode.Unauthorized);

        using var withoutScope = await sandbox.GetCheckAsync(await sandbox.TokenAsync(scope: "consents.manage"), Guid.NewGuid().ToString());
        var problem = await ConformsAsync("/v1/checks/{checkId}", "GET", withoutScope, HttpStatusCode.Forbidden);
        problem.GetProperty("type").GetString().Should().Be(GatewayBearer.InsufficientScopeProblemType);
    }

    [Fact]
    public async Task NotFoundProblem_ConformsToTheDocumentedResponse()
    {
        using var response = await sandbox.GetCheckAsync(await sandbox.TokenAsync(), Guid.NewGuid().ToString());

        await ConformsAsync("/v1/checks/{checkId}", "GET", response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task MediaTypeAndSizeProblems_ConformToTheDocumentedResponses()
    {
        var token = await sandbox.TokenAsync();

        using var notJson = await sandbox.PostCheckAsync(token, "scheme=free-school-meals", "text/plain");
        var refusedByRouting = await ConformsAsync("/v1/checks", "POST", notJson, HttpStatusCode.UnsupportedMediaType);
        refusedByRouting.GetProperty("type").GetString().Should().Be(ProblemTypes.RoutingUnsupportedMediaType);

        using var untyped = new HttpRequestMessage(HttpMethod.Post, sandbox.Gateway("/v1/checks")) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(Subjects.Check(Subjects.Smith))) };
        untyped.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var noContentType = await sandbox.Http.SendAsync(untyped);
        var refusedByCheck = await ConformsAsync("/v1/checks", "POST", noContentType, HttpStatusCode.UnsupportedMediaType);
        refusedByCheck.GetProperty("type").GetString().Should().Be(CheckProblems.UnsupportedMediaTypeType);

        using var tooLarge = await sandbox.PostCheckAsync(token, Subjects.Check(Subjects.Smith, caseReference: new string('x', (int)CheckEndpoints.MaxBodyBytes)));
        await ConformsAsync("/v1/checks", "POST", tooLarge, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task TokenEndpointAnswers_ConformToTheDocumentedResponses()
    {
        using var issued = await RequestTokenAsync("leeds", "leeds-sandbox-secret", "eligibility.check");
        await ConformsAsync("/connect/token", "POST", issued, HttpStatusCode.OK);

        using var badScope = await RequestTokenAsync("leeds", "leeds-sandbox-secret", "audit.read");
        var scopeError = await ConformsAsync("/connect/token", "POST", badScope, HttpStatusCode.BadRequest);
        scopeError.GetProperty("error").GetString().Should().Be("invalid_scope");

        using var badSecret = await RequestTokenAsync("leeds", "not-the-secret", "eligibility.check");
        var clientError = await ConformsAsync("/connect/token", "POST", badSecret, HttpStatusCode.Unauthorized);
        clientError.GetProperty("error").GetString().Should().Be("invalid_client");
    }

    [Theory]
    [InlineData("/.well-known/openid-configuration")]
    [InlineData("/.well-known/oauth-authorization-server")]
    [InlineData("/connect/jwks")]
    public async Task DiscoveryDocuments_ConformToTheDocumentedResponses(string path)
    {
        using var response = await sandbox.Http.GetAsync(sandbox.Gateway(path));

        await ConformsAsync(path, "GET", response, HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task HealthAnswers_ConformToTheDocumentedResponses(string path)
    {
        using var response = await sandbox.Http.GetAsync(sandbox.Gateway(path));

        await ConformsAsync(path, "GET", response, HttpStatusCode.OK);
    }

    /// <summary>
    /// Bodies the gateway accepts and bodies it refuses with 400 from a client-credentials token, each with the reason
    /// in the name. (The schema also admits what a consent-bound token may send: no subject, no lawful basis.)
    /// </summary>
    public static TheoryData<string, string> Requests => new()
    {
        { "fixture Smith", Subjects.Check(Subjects.Smith) },
        { "fixture Khan (NASS)", Subjects.Check(Subjects.Khan) },
        { "NI number with spaces, lower case", Subjects.Check("""{"nationalInsuranceNumber":" ab 12 34 56 c ","lastName":"Smith","dateOfBirth":"1990-01-01"}""") },
        { "other identifier null", Subjects.Check("""{"nationalInsuranceNumber":"AB123456C","nationalAsylumSeekerServiceNumber":null,"lastName":"Smith","dateOfBirth":"1990-01-01"}""") },
        { "other identifier blank", Subjects.Check("""{"nationalInsuranceNumber":"AB123456C","nationalAsylumSeekerServiceNumber":"  ","lastName":"Smith","dateOfBirth":"1990-01-01"}""") },
        { "name in another script with apostrophe", Subjects.Check("""{"nationalInsuranceNumber":"AB123456C","lastName":"  Ó’Brien-Łukasz ","dateOfBirth":"1990-01-01"}""") },
        { "consent basis (refused by policy, not by validation)", Subjects.Check(Subjects.Smith, basis: "consent") },
        { "unallocated NI prefix", Subjects.Check("""{"nationalInsuranceNumber":"GB123456C","lastName":"Smith","dateOfBirth":"1990-01-01"}""") },
        { "NI suffix E", Subjects.Check("""{"nationalInsuranceNumber":"AB123456E","lastName":"Smith","dateOfBirth":"1990-01-01"}""") },
        { "NASS month 13", Subjects.Check("""{"nationalAsylumSeekerServiceNumber":"241312349","lastName":"Khan","dateOfBirth":"1990-01-01"}""") },
        { "both identifiers", Subjects.Check("""{"nationalInsuranceNumber":"AB123456C","nationalAsylumSeekerServiceNumber":"240712349","lastName":"Smith","dateOfBirth":"1990-01-01"}""") },
        { "no identifier", Subjects.Check("""{"lastName":"Smith","dateOfBirth":"1990-01-01"}""") },
        { "digits in the name", Subjects.Check("""{"nationalInsuranceNumber":"AB123456C","lastName":"Sm1th","dateOfBirth":"1990-01-01"}""") },
        { "blank name", Subjects.Check("""{"nationalInsuranceNumber":"AB123456C","lastName":"   ","dateOfBirth":"1990-01-01"}""") },
        { "101-letter name", Subjects.Check($$"""{"nationalInsuranceNumber":"AB123456C","lastName":"{{new string('a', 101)}}","dateOfBirth":"1990-01-01"}""") },
        { "date in another format", Subjects.Check("""{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"01/01/1990"}""") },
        { "unknown lawful basis", Subjects.Check(Subjects.Smith, basis: "legitimate-interests") },
        { "65-character case reference", Subjects.Check(Subjects.Smith, caseReference: new string('C', 65)) },
        { "blank case reference", Subjects.Check(Subjects.Smith, caseReference: "   ") },
        { "control character in case reference", Subjects.Check(Subjects.Smith, caseReference: "FSM\\u0007") },
        { "unknown member", """{"scheme":"free-school-meals","lawfulBasis":"public-task","caseReference":"X","subject":{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"1990-01-01","middleName":"J"}}""" },
        { "scheme missing", """{"lawfulBasis":"public-task","caseReference":"X","subject":{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"1990-01-01"}}""" },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task CheckRequestSchema_AcceptsExactlyWhatTheGatewayAccepts(string reason, string body)
    {
        var token = await sandbox.TokenAsync();
        var schema = GatewayContract.Operation("/v1/checks", "POST").GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema");

        using var response = await sandbox.PostCheckAsync(token, body);
        var schemaErrors = GatewayContract.Validate(schema, body);

        if (response.StatusCode == HttpStatusCode.BadRequest)
        {
            schemaErrors.Should().NotBeEmpty($"the gateway refuses the body ({reason}) with 400, so the schema must: {await response.Content.ReadAsStringAsync()}");
        }
        else
        {
            response.StatusCode.Should().BeOneOf([HttpStatusCode.OK, HttpStatusCode.Forbidden], "the body is either answered or refused by policy");
            schemaErrors.Should().BeEmpty($"the gateway accepts the body ({reason}), so the schema must");
        }
    }

    [Fact]
    public void ProblemDetailsComponent_ListsEveryProblemTypeTheCodeDefines()
    {
        var defined = new[] { typeof(CheckProblems), typeof(GatewayBearer), typeof(ConsentEndpoints), typeof(EligibilityGateway.Audit.AuditorEndpoints), typeof(EligibilityGateway.BulkChecks.BulkCheckProblems) }
            .SelectMany(type => type.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static))
            .Where(field => field.IsLiteral && field.FieldType == typeof(string))
            .Select(field => (string)field.GetRawConstantValue()!)
            .Where(value => value.StartsWith(CheckProblems.TypePrefix, StringComparison.Ordinal) && value != CheckProblems.TypePrefix);

        var listed = GatewayContract.ComponentSchema("ProblemDetails").GetProperty("properties").GetProperty("type").GetProperty("enum")
            .EnumerateArray().Select(v => v.GetString());

        listed.Should().BeEquivalentTo(defined.Append(ProblemTypes.RoutingUnsupportedMediaType), "a council branches on these; each one the gateway can answer with must be documented");
    }

    [Fact]
    public void EveryCheckOperation_RequiresTheEligibilityCheckScopeAndAnswersErrorsAsProblems()
    {
        foreach (var (path, method) in GatewayContract.Operations().Where(o => o.Path.StartsWith("/v1/checks", StringComparison.Ordinal) || o.Path.StartsWith("/v1/bulk-checks", StringComparison.Ordinal)))
        {
            var operation = GatewayContract.Operation(path, method);
            operation.GetProperty("security").EnumerateArray().Single().GetProperty("bearer").EnumerateArray().Select(s => s.GetString())
                .Should().Equal([GatewayScopes.EligibilityCheck], $"{method} {path} needs a token with that scope");
            foreach (var response in operation.GetProperty("responses").EnumerateObject().Where(r => r.Name[0] is '4' or '5'))
            {
                response.Value.GetProperty("content").EnumerateObject().Select(c => c.Name).Should().Equal(["application/problem+json"], $"{method} {path} {response.Name}");
            }
        }
    }

    private Task<HttpResponseMessage> RequestTokenAsync(string client, string secret, string scope)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, sandbox.Gateway("/connect/token"))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = scope }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{client}:{secret}")));
        return sandbox.Http.SendAsync(request);
    }

    /// <summary>
    /// Asserts the answer is one the document declares for the operation — status, media type, every required
    /// header, and a body valid under the schema — and returns the body.
    /// </summary>
    private static async Task<JsonElement> ConformsAsync(string path, string method, HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(expected, body);
        var status = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        GatewayContract.Operation(path, method).GetProperty("responses").TryGetProperty(status, out var documented)
            .Should().BeTrue($"{method} {path} answered {status}, which the contract must document");

        if (documented.TryGetProperty("headers", out var headers))
        {
            foreach (var header in headers.EnumerateObject().Where(h => h.Value.TryGetProperty("required", out var required) && required.GetBoolean()))
            {
                var present = response.Headers.TryGetValues(header.Name, out var values) || response.Content.Headers.TryGetValues(header.Name, out values);
                present.Should().BeTrue($"{method} {path} {status} documents the header {header.Name} as always sent");
                var value = values!.First();
                var headerSchema = header.Value.GetProperty("schema");
                var asJson = headerSchema.TryGetProperty("type", out var type) && type.GetString() == "integer" ? value : JsonSerializer.Serialize(value);
                GatewayContract.Validate(headerSchema, asJson).Should().BeEmpty($"{header.Name}: {value}");
            }
        }

        var mediaType = response.Content.Headers.ContentType!.MediaType!;
        documented.GetProperty("content").TryGetProperty(mediaType, out var content)
            .Should().BeTrue($"{method} {path} {status} answered {mediaType}, which the contract must document");
        var instance = mediaType.EndsWith("json", StringComparison.Ordinal) ? body : JsonSerializer.Serialize(body);
        GatewayContract.Validate(content.GetProperty("schema"), instance).Should().BeEmpty($"{method} {path} {status} must match its schema: {body}");

        using var parsed = JsonDocument.Parse(instance);
        return parsed.RootElement.Clone();
    }
}
