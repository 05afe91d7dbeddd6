using System.Net;
using System.Text.Json;
using EligibilityGateway.Authorization;
using EligibilityGateway.Tests.Consents;

namespace EligibilityGateway.Tests.Authorization;

/// <summary>
/// What a council does with the tokens of the code flow (Authorization/README.md): refresh with rotation and its grace,
/// introspection, revocation of a token (the consent stays) and of the consent (everything it issued stops) and
/// userinfo. End-session: <see cref="EndSessionTests"/>.
/// </summary>
public sealed class CodeFlowTokenTests(ConsentGateway gateway) : IClassFixture<ConsentGateway>
{
    private const string CheckBody = """{"scheme":"free-school-meals","caseReference":"FSM-CODE-FLOW"}""";

    [Fact]
    public async Task Refresh_RotatesTheRefreshToken_AndGivesAWorkingAccessTokenForTheSameConsent()
    {
        using var flow = new CodeFlowDriver(gateway);
        var (consentId, tokens) = await TokensAsync(flow);

        using var refreshed = await RefreshAsync(flow, tokens.Refresh);

        refreshed.StatusCode.Should().Be(HttpStatusCode.OK, await refreshed.Content.ReadAsStringAsync());
        var body = await Json.ReadAsync(refreshed);
        var newRefresh = body.GetProperty("refresh_token").GetString()!;
        newRefresh.Should().NotBe(tokens.Refresh, "refresh tokens rotate");
        body.GetProperty("authorization_details")[0].GetProperty("consent_id").GetString().Should().Be(consentId);
        using var check = await gateway.CheckAsync(body.GetProperty("access_token").GetString()!, CheckBody);
        check.StatusCode.Should().Be(HttpStatusCode.OK);
        using var next = await RefreshAsync(flow, newRefresh);
        next.StatusCode.Should().Be(HttpStatusCode.OK, "the rotated token is the one to use next");
    }

    [Fact]
    public async Task EveryConsentBoundAccessToken_IsOnTheRecordWithItsConsentIdScopeAndExpiry()
    {
        using var flow = new CodeFlowDriver(gateway);
        var (consentId, tokens) = await TokensAsync(flow);
        using var refreshed = await RefreshAsync(flow, tokens.Refresh);
        refreshed.StatusCode.Should().Be(HttpStatusCode.OK);
        var second = (await Json.ReadAsync(refreshed)).GetProperty("access_token").GetString()!;

        var records = (await gateway.AuditAsync(consentId)).Where(e => e.EventType == EligibilityGateway.Audit.AuditEventTypes.TokenIssued).ToList();

        records.Should().HaveCount(2, "one record per access token: the code exchange and the refresh");
        foreach (var (record, token, grant) in new[] { (records[0], tokens.Access, "authorization_code"), (records[1], second, "refresh_token") })
        {
            var jwt = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(token);
            record.IssuedToken.Should().NotBeNull();
            record.IssuedToken!.TokenId.Should().Be(jwt.Id);
            record.IssuedToken.Scope.Should().Be(jwt.GetPayloadValue<string>("scope"));
            record.IssuedToken.ExpiresAt.Should().Be(new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero));
            record.Rule.Should().StartWith($"token:{grant}/");
            record.CouncilId.Should().Be("leeds");
        }
    }

    [Fact]
    public async Task Refresh_WithThePreviousTokenWithinTheGrace_WorksOnce_ThenRevokesTheFamily()
    {
        using var flow = new CodeFlowDriver(gateway);
        var (_, tokens) = await TokensAsync(flow);
        using var first = await RefreshAsync(flow, tokens.Refresh);
        first.StatusCode.Should().Be(HttpStatusCode.OK);

        using var retry = await RefreshAsync(flow, tokens.Refresh);
        retry.StatusCode.Should().Be(HttpStatusCode.OK, "a council whose response was lost may retry once within the grace");
        var retried = (await Json.ReadAsync(retry)).GetProperty("refresh_token").GetString()!;

        using var third = await RefreshAsync(flow, tokens.Refresh);
        third.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await Json.ReadAsync(third)).GetProperty("error").GetString().Should().Be("invalid_grant");
        using var afterTheft = await RefreshAsync(flow, retried);
        afterTheft.StatusCode.Should().Be(HttpStatusCode.BadRequest, "reuse beyond the grace revokes the whole family");
    }

    [Fact]
    public async Task Refresh_WithThePreviousTokenAfterTheGrace_IsInvalidGrant()
    {
        using var flow = new CodeFlowDriver(gateway);
        var (_, tokens) = await TokensAsync(flow);
        using var first = await RefreshAsync(flow, tokens.Refresh);
        first.StatusCode.Should().Be(HttpStatusCode.OK);

        gateway.Clock.Advance(TimeSpan.FromSeconds(61));
        using var late = await RefreshAsync(flow, tokens.Refresh);

        late.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await Json.ReadAsync(late)).GetProperty("error").GetString().Should().Be("invalid_grant");
    }

    [Fact]
    public async Task Introspection_ShowsAnActiveConsentBoundToken_ToItsCouncilOnly()
    {
        using var flow = new CodeFlowDriver(gateway);
        var (consentId, tokens) = await TokensAsync(flow);

        var own = await IntrospectAsync(flow, tokens.Access);
        var others = await IntrospectAsync(flow, tokens.Access, client: "camden");
        var refresh = await IntrospectAsync(flow, tokens.Refresh);

        own.GetProperty("active").GetBoolean().Should().BeTrue();
        own.GetProperty("client_id").GetString().Should().Be("leeds");
        own.GetProperty("scope").GetString().Should().Be("openid eligibility.check");
        own.GetProperty("sub").GetString().Should().NotBeNullOrEmpty().And.NotContain("AB123456C");
        own.GetProperty("exp").GetInt64().Should().BeGreaterThan(own.GetProperty("iat").GetInt64());
        own.GetProperty("authorization_details")[0].GetProperty("consent_id").GetString().Should().Be(consentId);
        others.GetProperty("active").GetBoolean().Should().BeFalse("a council may introspect only its own tokens");
        others.EnumerateObject().Should().ContainSingle();
        refresh.GetProperty("active").GetBoolean().Should().BeTrue();
    }

    [Fact]
    public async Task RevokingTheAccessToken_MakesItInactive_ButLeavesTheConsentAuthorised()
    {
        using var flow = new CodeFlowDriver(gateway);
        var (consentId, tokens) = await TokensAsync(flow);

        using var revoke = await flow.PostAsync("/connect/revoke", new Dictionary<string, string> { ["token"] = tokens.Access });

        revoke.StatusCode.Should().Be(HttpStatusCode.OK);
        (await IntrospectAsync(flow, tokens.Access)).GetProperty("active").GetBoolean().Should().BeFalse();
        using var check = await gateway.CheckAsync(tokens.Access, CheckBody);
        check.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await gateway.GetConsentAsync(consentId)).GetProperty("status").GetString().Should().Be("authorised", "revoking a token is not withdrawing consent");
        using var refreshed = await RefreshAsync(flow, tokens.Refresh);
        refreshed.StatusCode.Should().Be(HttpStatusCode.OK, "the refresh token was not revoked");
    }

    [Fact]
    public async Task RevokingTheRefreshToken_StopsRefresh_ButLeavesTheConsentAuthorised()
    {
        using var flow = new CodeFlowDriver(gateway);
        var (consentId, tokens) = await TokensAsync(flow);

        using var revoke = await flow.PostAsync("/connect/revoke", new Dictionary<string, string> { ["token"] = tokens.Refresh, ["token_type_hint"] = "refresh_token" });

        revoke.StatusCode.Should().Be(HttpStatusCode.OK);
        using var refreshed = await RefreshAsync(flow, tokens.Refresh);
        refreshed.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await gateway.GetConsentAsync(consentId)).GetProperty("status").GetString().Should().Be("authorised");
    }

    [Fact]
    public async Task RevokingTheConsent_MakesItsTokensInactive_RefusesRefresh_AndChecksGet409()
    {
        using var flow = new CodeFlowDriver(gateway);
        var (consentId, tokens) = await TokensAsync(flow);
        (await IntrospectAsync(flow, tokens.Access)).GetProperty("active").GetBoolean().Should().BeTrue();

        using (var revoke = await gateway.SendAsync(HttpMethod.Delete, $"/v1/consents/{consentId}", await gateway.TokenAsync()))
        {
            revoke.IsSuccessStatusCode.Should().BeTrue(await revoke.Content.ReadAsStringAsync());
        }

        (await IntrospectAsync(flow, tokens.Access)).GetProperty("active").GetBoolean().Should().BeFalse();
        (await IntrospectAsync(flow, tokens.Refresh)).GetProperty("active").GetBoolean().Should().BeFalse();
        using var refreshed = await RefreshAsync(flow, tokens.Refresh);
        refreshed.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await Json.ReadAsync(refreshed)).GetProperty("error").GetString().Should().Be("invalid_grant");
        using var check = await gateway.CheckAsync(tokens.Access, CheckBody);
        check.StatusCode.Should().Be(HttpStatusCode.Conflict, "a check under a revoked consent is 409, not a bare token failure");
    }

    [Fact]
    public async Task CodeReplay_AlsoRevokesTheRefreshTokenTheCodeIssued()
    {
        using var flow = new CodeFlowDriver(gateway);
        var (_, callback) = await flow.AuthoriseAsync();
        var code = CodeFlowDriver.Query(callback)["code"];
        using var first = await flow.ExchangeAsync(code);
        var refresh = (await Json.ReadAsync(first)).GetProperty("refresh_token").GetString()!;

        using var replay = await flow.ExchangeAsync(code);

        replay.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await IntrospectAsync(flow, refresh)).GetProperty("active").GetBoolean().Should().BeFalse();
    }

    [Fact]
    public async Task UserInfo_GivesTheSubjectOnly()
    {
        using var flow = new CodeFlowDriver(gateway);
        var (_, tokens) = await TokensAsync(flow);
        using var request = new HttpRequestMessage(HttpMethod.Get, gateway.Url("/connect/userinfo"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", tokens.Access);

        using var response = await gateway.Http.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await Json.ReadAsync(response);
        body.EnumerateObject().Select(p => p.Name).Should().Equal("sub");
        body.GetProperty("sub").GetString().Should().Be((await IntrospectAsync(flow, tokens.Access)).GetProperty("sub").GetString());
    }

    [Fact]
    public async Task UserInfo_WithAClientCredentialsToken_Is401()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, gateway.Url("/connect/userinfo"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", await gateway.TokenAsync(scope: "eligibility.check"));

        using var response = await gateway.Http.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    private static async Task<(string ConsentId, (string Access, string Refresh) Tokens)> TokensAsync(CodeFlowDriver flow)
    {
        var (consentId, callback) = await flow.AuthoriseAsync();
        using var exchanged = await flow.ExchangeAsync(CodeFlowDriver.Query(callback)["code"]);
        var body = await Json.ReadAsync(exchanged);
        exchanged.StatusCode.Should().Be(HttpStatusCode.OK, body.GetRawText());
        return (consentId, (body.GetProperty("access_token").GetString()!, body.GetProperty("refresh_token").GetString()!));
    }

    private static Task<HttpResponseMessage> RefreshAsync(CodeFlowDriver flow, string refreshToken) =>
        flow.PostAsync("/connect/token", new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = refreshToken });

    private static async Task<JsonElement> IntrospectAsync(CodeFlowDriver flow, string token, string client = "leeds")
    {
        using var response = await flow.PostAsync("/connect/introspect", new Dictionary<string, string> { ["token"] = token }, client);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return await Json.ReadAsync(response);
    }
}
