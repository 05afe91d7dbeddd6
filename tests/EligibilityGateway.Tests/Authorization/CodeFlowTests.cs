using System.Net;
using System.Text.Json;
using EligibilityGateway.Authorization;
using EligibilityGateway.Tests.Consents;
using EligibilityGateway.Tests.EndToEnd;
using Microsoft.Extensions.DependencyInjection;

namespace EligibilityGateway.Tests.Authorization;

/// <summary>
/// The authorization-code flow through real HTTP: PAR, the consent page, the code exchange and a
/// check under the token, and each way the flow refuses.
/// </summary>
public sealed class CodeFlowTests(ConsentGateway gateway) : IClassFixture<ConsentGateway>
{
    private const string CheckBody = """{"scheme":"free-school-meals","caseReference":"FSM-CODE-FLOW"}""";

    private string Issuer => gateway.Gateway.Services.GetRequiredService<GatewayIssuer>().Identifier;

    [Fact]
    public async Task CitizenWhoAllows_GivesTheCouncilACodeThatBuysAConsentBoundTokenForAnEligibleCheck()
    {
        using var flow = new CodeFlowDriver(gateway);

        var (consentId, callback) = await flow.AuthoriseAsync("allow");

        callback.GetLeftPart(UriPartial.Path).Should().Be(CodeFlowDriver.RedirectUri);
        var query = CodeFlowDriver.Query(callback);
        query["state"].Should().Be("state-" + consentId);
        query["iss"].Should().Be(Issuer, "RFC 9207: the response names the issuer");
        query.Should().ContainKey("code").And.NotContainKey("error");
        (await gateway.GetConsentAsync(consentId)).GetProperty("status").GetString().Should().Be("authorised");

        using var exchanged = await flow.ExchangeAsync(query["code"]);
        var text = await exchanged.Content.ReadAsStringAsync();
        exchanged.StatusCode.Should().Be(HttpStatusCode.OK, text);
        exchanged.Headers.CacheControl!.NoStore.Should().BeTrue();
        var body = JsonDocument.Parse(text).RootElement;
        body.GetProperty("token_type").GetString().Should().Be("Bearer");
        body.GetProperty("scope").GetString().Should().Be("openid eligibility.check");
        var details = body.GetProperty("authorization_details").EnumerateArray().Should().ContainSingle().Subject;
        details.GetProperty("type").GetString().Should().Be("eligibility-check");
        details.GetProperty("consent_id").GetString().Should().Be(consentId);

        var token = body.GetProperty("access_token").GetString()!;
        var claims = JsonDocument.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(token.Split('.')[1])).RootElement;
        claims.GetProperty("sub").GetString().Should().NotBe("leeds").And.NotContain("AB123456C").And.NotContain("smith");
        claims.GetProperty("authorization_details")[0].GetProperty("consent_id").GetString().Should().Be(consentId);

        using var check = await gateway.CheckAsync(token, CheckBody);
        var answer = await check.Content.ReadAsStringAsync();
        check.StatusCode.Should().Be(HttpStatusCode.OK, answer);
        var checkBody = JsonDocument.Parse(answer).RootElement;
        checkBody.GetProperty("outcome").GetString().Should().Be("eligible", "Smith is eligible for free school meals");
        checkBody.GetProperty("consentId").GetString().Should().Be(consentId);
    }

    [Fact]
    public async Task Exchange_WithOpenIdGranted_AnswersAnIdTokenForTheCouncil_CarryingTheNonceAndThePairwiseSubject()
    {
        // Found by the interop suite (tests/interop): openid was granted and the nonce accepted at PAR, but no ID token
        // came back (OpenID Connect Core §3.1.3.3) and the nonce was dropped.
        using var flow = new CodeFlowDriver(gateway);
        var (_, callback) = await flow.AuthoriseAsync("allow");

        using var exchanged = await flow.ExchangeAsync(CodeFlowDriver.Query(callback)["code"]);
        var body = await Json.ReadAsync(exchanged);
        var accessToken = body.GetProperty("access_token").GetString()!;
        var idToken = body.GetProperty("id_token").GetString()!;

        using var jwks = await gateway.Http.GetAsync(gateway.Url("/connect/jwks"));
        var validation = await new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().ValidateTokenAsync(idToken, new Microsoft.IdentityModel.Tokens.TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidAudience = "leeds",
            IssuerSigningKeys = new Microsoft.IdentityModel.Tokens.JsonWebKeySet(await jwks.Content.ReadAsStringAsync()).GetSigningKeys(),
            ValidAlgorithms = ["ES256"],
        });
        validation.IsValid.Should().BeTrue(validation.Exception?.Message);
        var claims = validation.Claims;
        claims["nonce"].Should().Be("nonce-1");
        claims["sub"].Should().Be(new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(accessToken).Subject, "the same pairwise identifier as the access token");
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(accessToken));
        claims["at_hash"].Should().Be(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(hash[..16]));
        idToken.Should().NotContain("AB123456C");
    }

    [Fact]
    public async Task Exchange_WithoutOpenId_AnswersNoIdToken()
    {
        using var flow = new CodeFlowDriver(gateway);
        var consentId = await flow.NewConsentAsync();
        var parameters = flow.ParParameters(consentId);
        parameters["scope"] = "eligibility.check";
        var path = CodeFlowDriver.AuthorizePath(await flow.PushAsync(parameters));
        await flow.SignInAsync(returnUrl: path);
        using var decided = await flow.DecideAsync(path, "allow");
        var callback = await flow.FollowToCouncilAsync(decided);

        using var exchanged = await flow.ExchangeAsync(CodeFlowDriver.Query(callback)["code"]);
        var body = await Json.ReadAsync(exchanged);

        exchanged.StatusCode.Should().Be(HttpStatusCode.OK);
        body.TryGetProperty("id_token", out _).Should().BeFalse();
    }

    [Fact]
    public async Task ConsentPage_SaysWhoAsksWhomForWhatUntilWhen_AndIsProtected()
    {
        using var flow = new CodeFlowDriver(gateway);
        var consentId = await flow.NewConsentAsync();
        var path = CodeFlowDriver.AuthorizePath(await flow.PushAsync(flow.ParParameters(consentId)));
        await flow.SignInAsync(returnUrl: path);

        using var page = await flow.Browser.GetAsync(path);
        var html = WebUtility.HtmlDecode(await page.Content.ReadAsStringAsync());

        page.StatusCode.Should().Be(HttpStatusCode.OK);
        html.Should().Contain("Leeds City Council").And.Contain("Free school meals")
            .And.Contain("Department for Work and Pensions").And.Contain("Only whether you qualify")
            .And.Contain(">Allow</button>").And.Contain(">Deny</button>").And.Contain("__RequestVerificationToken");
        var expires = (await gateway.GetConsentAsync(consentId)).GetProperty("expiresAt").GetDateTimeOffset();
        html.Should().Contain(expires.UtcDateTime.ToString("d MMMM yyyy", System.Globalization.CultureInfo.InvariantCulture));
        page.Headers.GetValues("Content-Security-Policy").Single().Should().Contain("frame-ancestors 'none'").And.Contain("form-action 'self'");
    }

    [Fact]
    public async Task ConsentForm_WithoutItsAntiforgeryToken_Is400AndDecidesNothing()
    {
        using var flow = new CodeFlowDriver(gateway);
        var consentId = await flow.NewConsentAsync();
        var path = CodeFlowDriver.AuthorizePath(await flow.PushAsync(flow.ParParameters(consentId)));
        await flow.SignInAsync(returnUrl: path);

        using var forged = await flow.Browser.PostAsync(path, new FormUrlEncodedContent(new Dictionary<string, string> { ["decision"] = "allow" }));

        forged.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await gateway.GetConsentAsync(consentId)).GetProperty("status").GetString().Should().Be("awaiting-authorisation");
    }

    [Fact]
    public async Task CitizenWhoDenies_SendsAccessDeniedWithStateAndIss_AndTheConsentIsRejected()
    {
        using var flow = new CodeFlowDriver(gateway);

        var (consentId, callback) = await flow.AuthoriseAsync("deny");

        var query = CodeFlowDriver.Query(callback);
        query["error"].Should().Be("access_denied");
        query["state"].Should().Be("state-" + consentId);
        query["iss"].Should().Be(Issuer);
        query.Should().NotContainKey("code");
        (await gateway.GetConsentAsync(consentId)).GetProperty("status").GetString().Should().Be("rejected");
    }

    [Theory]
    [InlineData("no PKCE", "code_challenge", null, "invalid_request")]
    [InlineData("plain PKCE", "code_challenge_method", "plain", "invalid_request")]
    [InlineData("a redirect URI not registered", "redirect_uri", "http://127.0.0.1:8080/demo/callback/", "invalid_request")]
    [InlineData("another response type", "response_type", "token", "unsupported_response_type")]
    [InlineData("no eligibility.check scope", "scope", "openid", "invalid_scope")]
    [InlineData("a scope beyond the flow", "scope", "eligibility.check consents.manage", "invalid_scope")]
    [InlineData("no authorization_details", "authorization_details", null, "invalid_authorization_details")]
    [InlineData("two authorization_details entries", "authorization_details", """[{"type":"eligibility-check","consent_id":"a"},{"type":"eligibility-check","consent_id":"b"}]""", "invalid_authorization_details")]
    [InlineData("an unknown consent", "authorization_details", """[{"type":"eligibility-check","consent_id":"00000000-0000-0000-0000-000000000000"}]""", "invalid_authorization_details")]
    [InlineData("a request_uri inside PAR", "request_uri", "urn:ietf:params:oauth:request_uri:abc", "invalid_request")]
    public async Task Par_Refuses(string reason, string parameter, string? value, string error)
    {
        using var flow = new CodeFlowDriver(gateway);
        var parameters = flow.ParParameters(await flow.NewConsentAsync());
        if (value is null)
        {
            parameters.Remove(parameter);
        }
        else
        {
            parameters[parameter] = value;
        }

        using var response = await flow.PostAsync("/connect/par", parameters);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, reason);
        (await Json.ReadAsync(response)).GetProperty("error").GetString().Should().Be(error, reason);
    }

    [Fact]
    public async Task Par_AnswersARequestUriOfTheRfc9126FormLivingAtMostTenMinutes()
    {
        using var flow = new CodeFlowDriver(gateway);

        using var response = await flow.PostAsync("/connect/par", flow.ParParameters(await flow.NewConsentAsync()));

        response.StatusCode.Should().Be(HttpStatusCode.Created);
        var body = await Json.ReadAsync(response);
        body.GetProperty("request_uri").GetString().Should().StartWith("urn:ietf:params:oauth:request_uri:");
        body.GetProperty("expires_in").GetInt32().Should().BeInRange(1, 600);
    }

    [Fact]
    public async Task Par_WithoutClientAuthentication_IsInvalidClient()
    {
        using var flow = new CodeFlowDriver(gateway);
        var parameters = flow.ParParameters(await flow.NewConsentAsync());

        using var response = await gateway.Http.PostAsync(gateway.Url("/connect/par"), new FormUrlEncodedContent(parameters));

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await Json.ReadAsync(response)).GetProperty("error").GetString().Should().Be("invalid_client");
    }

    [Fact]
    public async Task Par_NamingAnotherCouncilsConsent_IsRefused()
    {
        using var flow = new CodeFlowDriver(gateway);
        var camdenConsent = await flow.NewConsentAsync("camden");

        using var response = await flow.PostAsync("/connect/par", flow.ParParameters(camdenConsent));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await Json.ReadAsync(response)).GetProperty("error").GetString().Should().Be("invalid_authorization_details");
    }

    [Fact]
    public async Task Authorize_WithAParameterOutsidePar_IsAnErrorPageNotARedirect()
    {
        using var flow = new CodeFlowDriver(gateway);
        var path = CodeFlowDriver.AuthorizePath(await flow.PushAsync(flow.ParParameters(await flow.NewConsentAsync())));
        await flow.SignInAsync(returnUrl: path);

        using var response = await flow.Browser.GetAsync(path + "&redirect_uri=" + Uri.EscapeDataString("https://attacker.example/cb"));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Headers.Location.Should().BeNull();
    }

    [Fact]
    public async Task Authorize_WithAnotherClientsRequestUri_IsAnErrorPage()
    {
        using var flow = new CodeFlowDriver(gateway);
        var requestUri = await flow.PushAsync(flow.ParParameters(await flow.NewConsentAsync()));
        await flow.SignInAsync();

        using var response = await flow.Browser.GetAsync(CodeFlowDriver.AuthorizePath(requestUri, client: "camden"));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Headers.Location.Should().BeNull();
    }

    [Fact]
    public async Task Authorize_WithAnExpiredRequestUri_IsAnErrorPage()
    {
        using var flow = new CodeFlowDriver(gateway);
        var path = CodeFlowDriver.AuthorizePath(await flow.PushAsync(flow.ParParameters(await flow.NewConsentAsync())));
        await flow.SignInAsync(returnUrl: path);

        gateway.Clock.Advance(new AuthorizationServerOptions().PushedRequestLifetime + TimeSpan.FromSeconds(1));
        using var response = await flow.Browser.GetAsync(path);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Headers.Location.Should().BeNull();
    }

    [Fact]
    public async Task Authorize_WithARequestUriAlreadyDecided_IsAnErrorPage()
    {
        using var flow = new CodeFlowDriver(gateway);
        var path = CodeFlowDriver.AuthorizePath(await flow.PushAsync(flow.ParParameters(await flow.NewConsentAsync())));
        await flow.SignInAsync(returnUrl: path);
        using var first = await flow.DecideAsync(path, "allow");
        await flow.FollowToCouncilAsync(first);

        using var again = await flow.Browser.GetAsync(path);

        again.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        again.Headers.Location.Should().BeNull();
    }

    [Fact]
    public async Task Exchange_WithTheWrongVerifier_IsInvalidGrant()
    {
        using var flow = new CodeFlowDriver(gateway);
        var (_, callback) = await flow.AuthoriseAsync();

        using var response = await flow.ExchangeAsync(CodeFlowDriver.Query(callback)["code"], verifier: new string('a', 43));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await Json.ReadAsync(response)).GetProperty("error").GetString().Should().Be("invalid_grant");
    }

    [Fact]
    public async Task Exchange_WithoutAVerifier_IsInvalidRequest()
    {
        using var flow = new CodeFlowDriver(gateway);
        var (_, callback) = await flow.AuthoriseAsync();

        using var response = await flow.PostAsync("/connect/token", new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = CodeFlowDriver.Query(callback)["code"],
            ["redirect_uri"] = CodeFlowDriver.RedirectUri,
        });

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await Json.ReadAsync(response)).GetProperty("error").GetString().Should().Be("invalid_request");
    }

    [Fact]
    public async Task Exchange_WithAnotherRegisteredRedirectUri_IsInvalidGrant()
    {
        using var flow = new CodeFlowDriver(gateway);
        var (_, callback) = await flow.AuthoriseAsync();

        using var response = await flow.ExchangeAsync(CodeFlowDriver.Query(callback)["code"], redirectUri: "http://localhost:8080/demo/callback");

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await Json.ReadAsync(response)).GetProperty("error").GetString().Should().Be("invalid_grant");
    }

    [Fact]
    public async Task Exchange_ByAnotherCouncil_IsInvalidGrant()
    {
        using var flow = new CodeFlowDriver(gateway);
        var (_, callback) = await flow.AuthoriseAsync();

        using var response = await flow.ExchangeAsync(CodeFlowDriver.Query(callback)["code"], client: "camden");

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await Json.ReadAsync(response)).GetProperty("error").GetString().Should().Be("invalid_grant");
    }

    [Fact]
    public async Task Exchange_AfterSixtySeconds_IsInvalidGrant()
    {
        using var flow = new CodeFlowDriver(gateway);
        var (_, callback) = await flow.AuthoriseAsync();

        gateway.Clock.Advance(TimeSpan.FromSeconds(61));
        using var response = await flow.ExchangeAsync(CodeFlowDriver.Query(callback)["code"]);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await Json.ReadAsync(response)).GetProperty("error").GetString().Should().Be("invalid_grant");
    }

    [Fact]
    public async Task CodeReplay_IsRefused_AndRevokesTheTokenTheCodeIssued()
    {
        using var flow = new CodeFlowDriver(gateway);
        var (_, callback) = await flow.AuthoriseAsync();
        var code = CodeFlowDriver.Query(callback)["code"];
        using var first = await flow.ExchangeAsync(code);
        first.StatusCode.Should().Be(HttpStatusCode.OK);
        var token = (await Json.ReadAsync(first)).GetProperty("access_token").GetString()!;
        using (var before = await gateway.CheckAsync(token, CheckBody))
        {
            before.StatusCode.Should().Be(HttpStatusCode.OK, "the token works until the code is replayed");
        }

        using var replay = await flow.ExchangeAsync(code);

        replay.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await Json.ReadAsync(replay)).GetProperty("error").GetString().Should().Be("invalid_grant");
        using var after = await gateway.CheckAsync(token, CheckBody);
        after.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "RFC 6749 section 4.1.2: the tokens of a replayed code are revoked");
    }

    [Fact]
    public async Task TokenUnderARevokedConsent_GetsA409Check()
    {
        using var flow = new CodeFlowDriver(gateway);
        var (consentId, callback) = await flow.AuthoriseAsync();
        using var exchanged = await flow.ExchangeAsync(CodeFlowDriver.Query(callback)["code"]);
        var token = (await Json.ReadAsync(exchanged)).GetProperty("access_token").GetString()!;

        using (var revoke = await gateway.SendAsync(HttpMethod.Delete, $"/v1/consents/{consentId}", await gateway.TokenAsync()))
        {
            revoke.IsSuccessStatusCode.Should().BeTrue(await revoke.Content.ReadAsStringAsync());
        }

        using var check = await gateway.CheckAsync(token, CheckBody);
        check.StatusCode.Should().Be(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Discovery_AdvertisesTheCodeFlowWithParPkceAndIss()
    {
        using var response = await gateway.Http.GetAsync(gateway.Url("/.well-known/openid-configuration"));
        var metadata = await Json.ReadAsync(response);

        metadata.GetProperty("authorization_endpoint").GetString().Should().Be(Issuer + "connect/authorize");
        metadata.GetProperty("pushed_authorization_request_endpoint").GetString().Should().Be(Issuer + "connect/par");
        metadata.GetProperty("require_pushed_authorization_requests").GetBoolean().Should().BeTrue();
        metadata.GetProperty("code_challenge_methods_supported").EnumerateArray().Select(e => e.GetString()).Should().Equal("S256");
        metadata.GetProperty("authorization_response_iss_parameter_supported").GetBoolean().Should().BeTrue();
        metadata.GetProperty("response_types_supported").EnumerateArray().Select(e => e.GetString()).Should().Equal("code");
        metadata.GetProperty("grant_types_supported").EnumerateArray().Select(e => e.GetString()).Should().Contain("authorization_code");
        metadata.GetProperty("authorization_details_types_supported").EnumerateArray().Select(e => e.GetString()).Should().Equal("eligibility-check");
        metadata.GetProperty("introspection_endpoint").GetString().Should().Be(Issuer + "connect/introspect");
        metadata.GetProperty("revocation_endpoint").GetString().Should().Be(Issuer + "connect/revoke");
        metadata.GetProperty("userinfo_endpoint").GetString().Should().Be(Issuer + "connect/userinfo");
        metadata.GetProperty("end_session_endpoint").GetString().Should().Be(Issuer + "connect/endsession");
    }
}
