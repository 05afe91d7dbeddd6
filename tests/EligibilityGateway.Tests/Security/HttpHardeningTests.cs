using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Tests.EndToEnd;
using EligibilityGateway.Tests.Infrastructure;
using EligibilityGateway.Testing;

namespace EligibilityGateway.Tests.Security;

/// <summary>
/// What every response says about itself, and what the gateway makes of a request's framing and Host: the API's
/// headers per endpoint, success and failure alike; a broken chunked body answered 400 in the endpoint's own error
/// form; absolute URLs from the issuer whatever the Host; forwarded headers ignored unless a proxy is configured; and
/// the data files readable by the gateway's user alone.
/// </summary>
public sealed class HttpHardeningTests(SandboxFixture sandbox) : IClassFixture<SandboxFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    public static TheoryData<string, string, string, string?> ApiRequests => new()
    {
        // method, path, credentials (check | consents | audit | basic | none), JSON or form body
        { "POST", "/v1/checks", "check", """{"scheme":"free-school-meals","lawfulBasis":"public-task","caseReference":"HDR-1","subject":{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"1990-01-01"}}""" },
        { "POST", "/v1/checks", "check", """{"scheme":""" },
        { "POST", "/v1/checks", "none", "{}" },
        { "GET", "/v1/checks/00000000000000000000000000", "check", null },
        { "POST", "/v1/consents", "consents", """{"scheme":"free-school-meals","caseReference":"HDR-2"}""" },
        { "GET", "/v1/consents/00000000-0000-0000-0000-000000000000", "consents", null },
        { "GET", "/v1/audit/events", "audit", null },
        { "POST", "/v1/audit/subject-search", "audit", """{"nationalInsuranceNumber":"AB123456C","dateOfBirth":"1990-01-01"}""" },
        { "GET", "/v1/audit/verify", "audit", null },
        { "GET", "/v1/audit/checkpoints", "audit", null },
        { "GET", "/v1/audit/export?format=csv", "audit", null },
        { "GET", "/v1/audit/events", "check", null },
        { "POST", "/connect/token", "basic", "grant_type=client_credentials&scope=eligibility.check" },
        { "POST", "/connect/token", "none", "grant_type=client_credentials&scope=eligibility.check" },
        { "POST", "/connect/par", "basic", "response_type=code" },
        { "POST", "/connect/introspect", "basic", "token=not-a-token" },
        { "POST", "/connect/revoke", "basic", "token=not-a-token" },
        { "GET", "/connect/userinfo", "none", null },
    };

    [Theory]
    [MemberData(nameof(ApiRequests))]
    public async Task Every_API_answer_says_nosniff_and_no_store_and_does_not_name_its_server(string method, string path, string credentials, string? body)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), sandbox.Gateway(path));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, path.StartsWith("/connect", StringComparison.Ordinal) ? "application/x-www-form-urlencoded" : "application/json");
        }

        request.Headers.Authorization = credentials switch
        {
            "check" => new AuthenticationHeaderValue("Bearer", await sandbox.TokenAsync("leeds", "eligibility.check")),
            "consents" => new AuthenticationHeaderValue("Bearer", await sandbox.TokenAsync("leeds", "consents.manage")),
            "audit" => new AuthenticationHeaderValue("Bearer", await sandbox.TokenAsync("auditor", "audit.read")),
            "basic" => new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("leeds:leeds-sandbox-secret"))),
            _ => null,
        };

        using var response = await sandbox.Http.SendAsync(request);

        response.Headers.TryGetValues("X-Content-Type-Options", out var nosniff).Should().BeTrue($"{method} {path} answered {(int)response.StatusCode}");
        nosniff.Should().Equal("nosniff");
        response.Headers.CacheControl?.NoStore.Should().BeTrue($"{method} {path} answered {(int)response.StatusCode} with Cache-Control '{response.Headers.CacheControl}'");
        response.Headers.Contains("Server").Should().BeFalse($"{method} {path} must not name the server");
    }

    [Theory]
    [InlineData("/.well-known/openid-configuration")]
    [InlineData("/connect/jwks")]
    [InlineData("/health/ready")]
    [InlineData("/sign-in")]
    [InlineData("/no-such-path")]
    public async Task Answers_that_carry_nothing_personal_still_say_nosniff_and_no_server(string path)
    {
        using var response = await sandbox.Http.GetAsync(sandbox.Gateway(path));

        response.Headers.GetValues("X-Content-Type-Options").Should().Equal("nosniff");
        response.Headers.Contains("Server").Should().BeFalse();
    }

    public static TheoryData<string, string> BrokenChunks => new()
    {
        { "non-hex size", "zz\r\n{}\r\n0\r\n\r\n" },
        { "negative size", "-2\r\n{}\r\n0\r\n\r\n" },
        { "size beyond 2^64", "100000000000000000\r\n{}\r\n0\r\n\r\n" },
        { "data not followed by CRLF", "2\r\n{}XX0\r\n\r\n" },
    };

    public static TheoryData<string, string, string> BrokenChunksPerEndpoint()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var path in new[] { "/v1/checks", "/v1/consents", "/v1/audit/subject-search", "/connect/token", "/connect/par" })
        {
            foreach (var broken in BrokenChunks)
            {
                data.Add(path, (string)broken[0], (string)broken[1]);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(BrokenChunksPerEndpoint))]
    public async Task A_broken_chunked_body_is_a_400_in_the_endpoints_own_error_form(string path, string fault, string chunks)
    {
        var oauth = path.StartsWith("/connect", StringComparison.Ordinal);
        var credentials = path switch
        {
            "/v1/checks" => "Bearer " + await sandbox.TokenAsync("leeds", "eligibility.check"),
            "/v1/consents" => "Bearer " + await sandbox.TokenAsync("leeds", "consents.manage"),
            "/v1/audit/subject-search" => "Bearer " + await sandbox.TokenAsync("auditor", "audit.read"),
            _ => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("leeds:leeds-sandbox-secret")),
        };

        var answer = await SendChunkedAsync(path, oauth ? "application/x-www-form-urlencoded" : "application/json", credentials, chunks);

        answer.Status.Should().Be(400, $"{fault} at {path}: {answer.Text}");
        using var json = JsonDocument.Parse(answer.Body);
        if (oauth)
        {
            answer.Header("Content-Type").Should().StartWith("application/json");
            json.RootElement.GetProperty("error").GetString().Should().Be("invalid_request");
        }
        else
        {
            answer.Header("Content-Type").Should().StartWith("application/problem+json");
            json.RootElement.GetProperty("type").GetString().Should().Be("urn:eligibility-gateway:problem:malformed-json");
        }
    }

    [Theory]
    [MemberData(nameof(BrokenChunks))]
    public async Task A_broken_chunked_form_on_a_page_gets_a_GOV_UK_error_page(string fault, string chunks)
    {
        var answer = await SendChunkedAsync("/sign-in", "application/x-www-form-urlencoded", null, chunks);

        answer.Status.Should().Be(400, fault);
        answer.Header("Content-Type").Should().StartWith("text/html");
        answer.Text.Should().Contain("govuk-template").And.Contain("Sorry, there is a problem with the form you sent");
        answer.Header("Content-Security-Policy").Should().Contain("frame-ancestors 'none'", "an error page is still a page");
    }

    [Fact]
    public async Task A_charset_that_cannot_be_decoded_is_refused_with_a_4xx()
    {
        var token = await sandbox.TokenAsync("leeds", "eligibility.check");
        using var content = new ByteArrayContent("{}"u8.ToArray());
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=utf-7");
        using var request = new HttpRequestMessage(HttpMethod.Post, sandbox.Gateway("/v1/checks")) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var api = await sandbox.Http.SendAsync(request);

        var page = await RawHttp.SendAsync(
            sandbox.Sandbox.GatewayAddress,
            [.. RawHttp.Head("POST", "/sign-in", "127.0.0.1", [("Content-Type", "application/x-www-form-urlencoded; charset=utf-7"), ("Content-Length", "3")]), .. "a=b"u8.ToArray()],
            Patience);

        api.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
        api.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        page.Status.Should().Be(415);
        page.Text.Should().Contain("govuk-template");
    }

    [Fact]
    public async Task A_Host_the_gateway_does_not_serve_is_refused()
    {
        var answer = await RawHttp.SendAsync(sandbox.Sandbox.GatewayAddress, RawHttp.Head("GET", "/account", "evil.example", []), Patience);

        answer.Status.Should().Be(400);
        answer.Header("Location").Should().BeEmpty();
    }

    [Fact]
    public async Task The_sign_in_redirect_is_built_from_the_issuer_whatever_the_forwarded_headers_say()
    {
        var issuer = sandbox.Sandbox.GatewayAddress.GetLeftPart(UriPartial.Authority);
        var answer = await RawHttp.SendAsync(
            sandbox.Sandbox.GatewayAddress,
            RawHttp.Head("GET", "/account", "localhost", [("X-Forwarded-Host", "evil.example"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-For", "203.0.113.7")]),
            Patience);

        answer.Status.Should().Be(302);
        answer.Header("Location").Should().StartWith(issuer + "/sign-in?", "the sign-in URL comes from the issuer, not from Host or X-Forwarded-*");
        answer.Header("Strict-Transport-Security").Should().BeEmpty("X-Forwarded-Proto is not believed from an unconfigured proxy");
    }

    [Fact]
    public async Task Forwarded_headers_are_believed_only_from_a_configured_proxy()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("gateway-proxy-").FullName;
        await using var app = TestGateway.Build(dataDirectory, new Dictionary<string, string?> { ["ForwardedHeaders:KnownProxies:0"] = "127.0.0.1" });
        try
        {
            var address = await app.StartOnFreePortAsync();
            var behindProxy = await RawHttp.SendAsync(address, RawHttp.Head("GET", "/sign-in", "127.0.0.1", [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil.example")]), Patience);

            behindProxy.Status.Should().Be(200);
            behindProxy.Header("Strict-Transport-Security").Should().StartWith("max-age=", "the configured proxy says the browser used HTTPS");
            behindProxy.Text.Should().NotContain("evil.example", "X-Forwarded-Host is never believed");
        }
        finally
        {
            await app.StopAsync();
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void The_data_files_and_their_directories_are_the_gateway_users_alone()
    {
        var files = Directory.EnumerateFiles(sandbox.DataDirectory, "*", SearchOption.AllDirectories).ToList();
        var directories = Directory.EnumerateDirectories(sandbox.DataDirectory, "*", SearchOption.AllDirectories).Append(sandbox.DataDirectory).ToList();

        files.Should().Contain(f => f.EndsWith(".db", StringComparison.Ordinal), "the sandbox keeps its consents and audit trail in SQLite");
        foreach (var file in files)
        {
            File.GetUnixFileMode(file).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite, file);
        }

        foreach (var directory in directories)
        {
            File.GetUnixFileMode(directory).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, directory);
        }
    }

    private async Task<RawHttp.Answer> SendChunkedAsync(string path, string contentType, string? authorization, string chunks)
    {
        var headers = new List<(string, string)> { ("Content-Type", contentType), ("Transfer-Encoding", "chunked") };
        if (authorization is not null)
        {
            headers.Add(("Authorization", authorization));
        }

        return await RawHttp.SendAsync(sandbox.Sandbox.GatewayAddress, [.. RawHttp.Head("POST", path, "127.0.0.1", headers), .. Encoding.ASCII.GetBytes(chunks)], Patience);
    }
}
