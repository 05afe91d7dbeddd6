using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EligibilityGateway.Authorization;
using EligibilityGateway.Checks;
using EligibilityGateway.Pages;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using MockCentralGovernment;
using StackExchange.Redis;

namespace EligibilityGateway.Tests.Authorization.Replicas;

/// <summary>
/// Two gateway replicas behind one issuer, sharing one real Redis, one key directory, one PostgreSQL consent database and one authorization database (each
/// with its own audit file), as several replicas share them in production, on their own loopback ports.
/// </summary>
public sealed class ReplicaPair : IAsyncLifetime
{
    public const string Issuer = "http://gateway.replicas.test";

    private readonly string directory = Directory.CreateTempSubdirectory("egw-replicas-").FullName;
    private WebApplication mock = null!;

    internal RedisServer Redis { get; private set; } = null!;

    internal WebApplication First { get; private set; } = null!;

    internal WebApplication Second { get; private set; } = null!;

    internal Uri FirstAddress { get; private set; } = null!;

    internal Uri SecondAddress { get; private set; } = null!;

    /// <summary>The authorization server's store both replicas share: codes, refresh tokens and pushed requests.</summary>
    internal PostgresServer Postgres { get; private set; } = null!;

    internal string AuthorizationDatabase { get; private set; } = null!;

    internal string AuthorizationConnectionString { get; private set; } = null!;

    /// <summary>The consent store both replicas share, in its own database.</summary>
    internal string ConsentsConnectionString { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartNewAsync();
        Postgres = await PostgresServer.StartNewAsync();
        AuthorizationConnectionString = await Postgres.CreateDatabaseAsync("authorization");
        AuthorizationDatabase = new Npgsql.NpgsqlConnectionStringBuilder(AuthorizationConnectionString).Database!;
        ConsentsConnectionString = await Postgres.CreateDatabaseAsync("consents");
        mock = MockGovernmentApplication.Build([], b => b.Configuration["MockCentralGovernment:Population:Size"] = "0");
        var mockAddress = await mock.StartOnFreePortAsync();
        (First, FirstAddress) = await StartReplicaAsync("first", mockAddress);
        (Second, SecondAddress) = await StartReplicaAsync("second", mockAddress);
    }

    private async Task<(WebApplication, Uri)> StartReplicaAsync(string name, Uri mockAddress)
    {
        var own = Directory.CreateDirectory(Path.Combine(directory, name)).FullName;
        var app = TestGateway.Build(own, new Dictionary<string, string?>
        {
            ["Cache:Redis"] = Redis.Endpoint,
            ["Keys:Directory"] = Path.Combine(directory, "keys"),
            ["Consents:Postgres:ConnectionString"] = ConsentsConnectionString,
            ["Authorization:Postgres:ConnectionString"] = AuthorizationConnectionString,
            ["Authorization:Issuer"] = Issuer,
        }, mock: mockAddress);
        return (app, await app.StartWithRedisConnectedAsync());
    }

    public async Task DisposeAsync()
    {
        foreach (var app in new[] { First, Second, mock })
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        await Redis.DisposeAsync();
        await Postgres.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }
}

/// <summary>
/// A flow begun on one replica completes on the other: the pushed request, the consent page and its decision, the
/// authorization code (single use across both), and the page session and antiforgery cookies.
/// </summary>
public sealed partial class ReplicaPairTests(ReplicaPair replicas) : IClassFixture<ReplicaPair>
{
    private const string RedirectUri = "http://127.0.0.1:8080/demo/callback";

    [Fact]
    public async Task RequestPushedToOneReplica_IsAuthorisedOnTheOther_AndItsCodeExchangedOnEither()
    {
        using var http = new HttpClient();
        var consentId = await CreateConsentAsync(http, replicas.FirstAddress);
        var verifier = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        using var pushed = await PostAsClientAsync(http, replicas.FirstAddress, "/connect/par", new Dictionary<string, string>
        {
            ["response_type"] = "code",
            ["client_id"] = "leeds",
            ["redirect_uri"] = RedirectUri,
            ["scope"] = "eligibility.check",
            ["state"] = "replica-state",
            ["code_challenge"] = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))),
            ["code_challenge_method"] = "S256",
            ["authorization_details"] = $$"""[{"type":"eligibility-check","consent_id":"{{consentId}}"}]""",
        });
        pushed.StatusCode.Should().Be(HttpStatusCode.Created, await pushed.Content.ReadAsStringAsync());
        var requestUri = JsonDocument.Parse(await pushed.Content.ReadAsStringAsync()).RootElement.GetProperty("request_uri").GetString()!;
        var authorizePath = $"/connect/authorize?client_id=leeds&request_uri={Uri.EscapeDataString(requestUri)}";

        // The citizen is on the second replica for the whole front channel.
        using var browser = Browser(new CookieContainer(), replicas.SecondAddress);
        await SignInAsync(browser, authorizePath);
        using var allowed = await browser.PostAsync(authorizePath, new FormUrlEncodedContent(CodeFlowDriver.DecisionForm(authorizePath, await FormTokenAsync(browser, authorizePath), "allow")));
        allowed.StatusCode.Should().Be(HttpStatusCode.SeeOther, await allowed.Content.ReadAsStringAsync());
        using var toCouncil = await browser.GetAsync(allowed.Headers.Location);
        toCouncil.StatusCode.Should().Be(HttpStatusCode.Redirect, await toCouncil.Content.ReadAsStringAsync());
        var code = QueryHelpers.ParseQuery(toCouncil.Headers.Location!.Query)["code"].ToString();
        code.Should().NotBeEmpty();

        // The request_uri was used once, on the second replica; the first does not offer it again.
        using (var again = await Browser(browser.Jar, replicas.FirstAddress).GetAsync(authorizePath))
        {
            again.StatusCode.Should().Be(HttpStatusCode.BadRequest, $"{again.Headers.Location} {await again.Content.ReadAsStringAsync()}");
        }

        var exchange = new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = RedirectUri,
            ["code_verifier"] = verifier,
        };
        using var exchanged = await PostAsClientAsync(http, replicas.FirstAddress, "/connect/token", exchange);
        var body = await exchanged.Content.ReadAsStringAsync();
        exchanged.StatusCode.Should().Be(HttpStatusCode.OK, body);
        var accessToken = JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;

        (await GetCheckAsync(http, replicas.SecondAddress, accessToken)).Should().Be(HttpStatusCode.NotFound, "the token works on either replica");

        using var check = new HttpRequestMessage(HttpMethod.Post, new Uri(replicas.SecondAddress, "/v1/checks"))
        {
            Content = new StringContent("""{"scheme":"free-school-meals","caseReference":"FSM-REPLICAS"}""", Encoding.UTF8, "application/json"),
        };
        check.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        using var checkResponse = await http.SendAsync(check);
        var answer = await checkResponse.Content.ReadAsStringAsync();
        checkResponse.StatusCode.Should().Be(HttpStatusCode.OK, answer);
        JsonDocument.Parse(answer).RootElement.GetProperty("outcome").GetString().Should().Be("eligible");

        using (var redis = await ConnectionMultiplexer.ConnectAsync(replicas.Redis.Endpoint))
        {
            (await redis.GetDatabase().KeyExistsAsync(SharedStateServiceCollectionExtensions.DataProtectionKeysRedisKey)).Should().BeTrue();
        }

        // The pushed request and the code are rows of the one PostgreSQL store both replicas use, the code redeemed.
        var rows = await replicas.Postgres.PsqlAsync(replicas.AuthorizationDatabase, "SELECT \"Type\" || ':' || \"Status\" FROM \"OpenIddictTokens\" ORDER BY \"CreationDate\"");
        rows.Should().Contain("authorization_code:redeemed").And.Contain("refresh_token:valid");

        await ShouldHoldNothingReadableAsync(requestUri, code);
    }

    [Fact]
    public async Task CodeReplayedOnTheOtherReplica_IsRefused_AndRevokesWhatTheFirstExchangeIssued()
    {
        using var http = new HttpClient();
        var (code, verifier) = await AuthoriseOnSecondReplicaAsync(http);
        var exchange = new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = RedirectUri,
            ["code_verifier"] = verifier,
        };
        using var exchanged = await PostAsClientAsync(http, replicas.FirstAddress, "/connect/token", exchange);
        var body = await exchanged.Content.ReadAsStringAsync();
        exchanged.StatusCode.Should().Be(HttpStatusCode.OK, body);
        var accessToken = JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
        var refreshToken = JsonDocument.Parse(body).RootElement.GetProperty("refresh_token").GetString()!;

        using var replayed = await PostAsClientAsync(http, replicas.SecondAddress, "/connect/token", exchange);
        replayed.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        JsonDocument.Parse(await replayed.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString().Should().Be("invalid_grant");

        // RFC 6749 §4.1.2: the replay revokes the tokens the code issued — on the replica that issued them, and everywhere.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        HttpStatusCode first, second;
        do
        {
            first = await GetCheckAsync(http, replicas.FirstAddress, accessToken);
            second = await GetCheckAsync(http, replicas.SecondAddress, accessToken);
        }
        while ((first != HttpStatusCode.Unauthorized || second != HttpStatusCode.Unauthorized) && waited.Elapsed < TimeSpan.FromSeconds(1));

        first.Should().Be(HttpStatusCode.Unauthorized);
        second.Should().Be(HttpStatusCode.Unauthorized);
        using var refreshed = await PostAsClientAsync(http, replicas.FirstAddress, "/connect/token", new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = refreshToken });
        refreshed.StatusCode.Should().Be(HttpStatusCode.BadRequest, "the refresh family is revoked on the replica that issued it");
    }

    [Fact]
    public async Task RefreshTokenIssuedByOneReplica_IsRotatedOnTheOther_AndItsReplayThereRevokesTheFamilyEverywhere()
    {
        using var http = new HttpClient();
        var (code, verifier) = await AuthoriseOnSecondReplicaAsync(http);
        using var exchanged = await PostAsClientAsync(http, replicas.FirstAddress, "/connect/token", new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = RedirectUri,
            ["code_verifier"] = verifier,
        });
        var body = await exchanged.Content.ReadAsStringAsync();
        exchanged.StatusCode.Should().Be(HttpStatusCode.OK, body);
        var issued = JsonDocument.Parse(body).RootElement.GetProperty("refresh_token").GetString()!;

        using var rotated = await PostAsClientAsync(http, replicas.SecondAddress, "/connect/token", new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = issued });
        var rotatedBody = await rotated.Content.ReadAsStringAsync();
        rotated.StatusCode.Should().Be(HttpStatusCode.OK, "a refresh token issued by the first replica is honoured by the second: " + rotatedBody);
        var successor = JsonDocument.Parse(rotatedBody).RootElement.GetProperty("refresh_token").GetString()!;
        successor.Should().NotBe(issued, "each use rotates the refresh token");

        // The one retry a lost response allows, then a second retry: theft, wherever it is presented.
        using var retried = await PostAsClientAsync(http, replicas.FirstAddress, "/connect/token", new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = issued });
        retried.StatusCode.Should().Be(HttpStatusCode.OK, await retried.Content.ReadAsStringAsync());
        using var stolen = await PostAsClientAsync(http, replicas.SecondAddress, "/connect/token", new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = issued });
        stolen.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        JsonDocument.Parse(await stolen.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString().Should().Be("invalid_grant");
        using var afterTheft = await PostAsClientAsync(http, replicas.FirstAddress, "/connect/token", new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = successor });
        afterTheft.StatusCode.Should().Be(HttpStatusCode.BadRequest, "the successor the retry replaced is revoked on every replica");
    }

    /// <summary>PAR on the first replica, sign-in and Allow on the second; the code and the PKCE verifier.</summary>
    private async Task<(string Code, string Verifier)> AuthoriseOnSecondReplicaAsync(HttpClient http)
    {
        var consentId = await CreateConsentAsync(http, replicas.FirstAddress);
        var verifier = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        using var pushed = await PostAsClientAsync(http, replicas.FirstAddress, "/connect/par", new Dictionary<string, string>
        {
            ["response_type"] = "code",
            ["client_id"] = "leeds",
            ["redirect_uri"] = RedirectUri,
            ["scope"] = "eligibility.check",
            ["code_challenge"] = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))),
            ["code_challenge_method"] = "S256",
            ["authorization_details"] = $$"""[{"type":"eligibility-check","consent_id":"{{consentId}}"}]""",
        });
        var requestUri = JsonDocument.Parse(await pushed.Content.ReadAsStringAsync()).RootElement.GetProperty("request_uri").GetString()!;
        var authorizePath = $"/connect/authorize?client_id=leeds&request_uri={Uri.EscapeDataString(requestUri)}";
        using var browser = Browser(new CookieContainer(), replicas.SecondAddress);
        await SignInAsync(browser, authorizePath);
        using var allowed = await browser.PostAsync(authorizePath, new FormUrlEncodedContent(CodeFlowDriver.DecisionForm(authorizePath, await FormTokenAsync(browser, authorizePath), "allow")));
        using var toCouncil = await browser.GetAsync(allowed.Headers.Location);
        return (QueryHelpers.ParseQuery(toCouncil.Headers.Location!.Query)["code"].ToString(), verifier);
    }

    [Fact]
    public async Task SessionAndAntiforgeryCookiesFromOneReplica_AreAcceptedByTheOther()
    {
        var cookies = new CookieContainer();
        using var first = Browser(cookies, replicas.FirstAddress);
        using var second = Browser(cookies, replicas.SecondAddress);
        await SignInAsync(first, "/account");

        using var account = await second.GetAsync("/account");
        var html = WebUtility.HtmlDecode(await account.Content.ReadAsStringAsync());
        account.StatusCode.Should().Be(HttpStatusCode.OK, "the second replica opens the session cookie the first issued");
        html.Should().Contain("AB 12 34 56 C");

        // A form served by the first replica is accepted by the second.
        var token = await FormTokenAsync(first, "/sign-out");
        using var signedOut = await second.PostAsync("/sign-out", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token }));
        signedOut.StatusCode.Should().Be(HttpStatusCode.Redirect, await signedOut.Content.ReadAsStringAsync());
        using var after = await first.GetAsync("/account");
        after.StatusCode.Should().Be(HttpStatusCode.Redirect, "signed out");

        // The key ring both used is the one in Redis (not, say, a directory both processes happen to share).
        foreach (var replica in new[] { replicas.First, replicas.Second })
        {
            var keyManagement = replica.Services.GetRequiredService<IOptions<KeyManagementOptions>>().Value;
            keyManagement.XmlRepository.Should().BeOfType<Microsoft.AspNetCore.DataProtection.StackExchangeRedis.RedisXmlRepository>();
            keyManagement.XmlEncryptor.Should().BeOfType<EligibilityGateway.Security.SealedXmlEncryptor>();
        }

        using var redis = await ConnectionMultiplexer.ConnectAsync(replicas.Redis.Endpoint);
        (await redis.GetDatabase().ListLengthAsync(SharedStateServiceCollectionExtensions.DataProtectionKeysRedisKey)).Should().BePositive();
    }

    [Fact]
    public async Task DecisionAlteredInRedis_IsNotAccepted()
    {
        using var http = new HttpClient();
        var consentId = await CreateConsentAsync(http, replicas.FirstAddress);
        using var pushed = await PostAsClientAsync(http, replicas.FirstAddress, "/connect/par", new Dictionary<string, string>
        {
            ["response_type"] = "code",
            ["client_id"] = "leeds",
            ["redirect_uri"] = RedirectUri,
            ["scope"] = "eligibility.check",
            ["code_challenge"] = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32)),
            ["code_challenge_method"] = "S256",
            ["authorization_details"] = $$"""[{"type":"eligibility-check","consent_id":"{{consentId}}"}]""",
        });
        var requestUri = JsonDocument.Parse(await pushed.Content.ReadAsStringAsync()).RootElement.GetProperty("request_uri").GetString()!;
        using var browser = Browser(new CookieContainer(), replicas.SecondAddress);
        var authorizePath = $"/connect/authorize?client_id=leeds&request_uri={Uri.EscapeDataString(requestUri)}";
        await SignInAsync(browser, authorizePath);
        using var allowed = await browser.PostAsync(authorizePath, new FormUrlEncodedContent(CodeFlowDriver.DecisionForm(authorizePath, await FormTokenAsync(browser, authorizePath), "allow")));
        allowed.StatusCode.Should().Be(HttpStatusCode.SeeOther);

        var key = SharedAuthorizationState.Key("par-decision", requestUri);
        using var redis = await ConnectionMultiplexer.ConnectAsync(replicas.Redis.Endpoint);
        var stored = (byte[])(await redis.GetDatabase().StringGetAsync(key))!;
        stored[^1] ^= 0x01;
        await redis.GetDatabase().StringSetAsync(key, stored);
        using var continued = await browser.GetAsync(allowed.Headers.Location);

        continued.StatusCode.Should().Be(HttpStatusCode.BadRequest, "an altered record does not open");
    }

    [Fact]
    public async Task AccessTokenRevokedOnOneReplica_IsRefusedByTheOtherWithinASecond()
    {
        using var http = new HttpClient();
        using var issued = await PostAsClientAsync(http, replicas.FirstAddress, "/connect/token", new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = "eligibility.check" });
        var token = JsonDocument.Parse(await issued.Content.ReadAsStringAsync()).RootElement.GetProperty("access_token").GetString()!;
        (await GetCheckAsync(http, replicas.SecondAddress, token)).Should().Be(HttpStatusCode.NotFound, "the token is good on the other replica, and the check unknown");

        using var revoked = await PostAsClientAsync(http, replicas.FirstAddress, "/connect/revoke", new Dictionary<string, string> { ["token"] = token });
        revoked.StatusCode.Should().Be(HttpStatusCode.OK);

        (await GetCheckAsync(http, replicas.FirstAddress, token)).Should().Be(HttpStatusCode.Unauthorized);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            status = await GetCheckAsync(http, replicas.SecondAddress, token);
        }
        while (status != HttpStatusCode.Unauthorized && waited.Elapsed < TimeSpan.FromSeconds(1));

        status.Should().Be(HttpStatusCode.Unauthorized, "the revocation reaches every replica sharing Redis");
    }

    [Fact]
    public async Task FederatedCitizenSignedInOnOneReplica_IsFoundOnTheOther_UntilSignedOutOnEither()
    {
        var first = replicas.First.Services.GetRequiredService<FederatedCitizens>();
        var second = replicas.Second.Services.GetRequiredService<FederatedCitizens>();
        var identity = new Subject(IdentifierKind.NationalInsuranceNumber, "AB123456C", "Smith", new DateOnly(1990, 1, 1));

        var citizen = first.Remember("https://identity.example", "account-7", identity);

        second.Find(citizen.Subject).Should().Be(citizen);
        await ShouldHoldNothingReadableAsync("account-7");
        second.Forget(citizen.Subject);
        first.Find(citizen.Subject).Should().BeNull("signing out on one replica ends the sign-in on all");
    }

    private static async Task<HttpStatusCode> GetCheckAsync(HttpClient http, Uri replica, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(replica, "/v1/checks/" + Guid.NewGuid()));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>No key or value in Redis names the request URI, the code or the citizen.</summary>
    private async Task ShouldHoldNothingReadableAsync(params string[] secrets)
    {
        using var redis = await ConnectionMultiplexer.ConnectAsync(replicas.Redis.Endpoint + ",allowAdmin=true");
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        var forbidden = secrets.Concat(["AB123456C", "AB 12 34 56 C", "Smith", "1990-01-01", "smith"]).ToArray();
        var keys = server.Keys(pattern: "*").Select(k => (string)k!).ToList();
        keys.Should().NotBeEmpty();
        foreach (var key in keys)
        {
            key.Should().NotContainAny(forbidden);
            var type = await redis.GetDatabase().KeyTypeAsync(key);
            var values = type switch
            {
                RedisType.String => [(byte[])(await redis.GetDatabase().StringGetAsync(key))!],
                RedisType.List => (await redis.GetDatabase().ListRangeAsync(key)).Select(v => (byte[])v!).ToArray(),
                RedisType.Set => (await redis.GetDatabase().SetMembersAsync(key)).Select(v => (byte[])v!).ToArray(),
                _ => [],
            };
            foreach (var value in values)
            {
                // Data-protection keys are stored as XML whose key material is sealed: no masterKey, no secret value in clear.
                Encoding.UTF8.GetString(value).Should().NotContainAny(forbidden.Append("masterKey").Append("<value>"));
            }
        }
    }

    private static async Task<string> CreateConsentAsync(HttpClient http, Uri replica)
    {
        using var tokenResponse = await PostAsClientAsync(http, replica, "/connect/token", new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = "consents.manage" });
        var token = JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("access_token").GetString()!;
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(replica, "/v1/consents"))
        {
            Content = new StringContent("""{"scheme":"free-school-meals","caseReference":"FSM-REPLICAS"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var created = await http.SendAsync(request);
        var body = await created.Content.ReadAsStringAsync();
        created.StatusCode.Should().Be(HttpStatusCode.Created, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("consentId").GetString()!;
    }

    private static async Task<HttpResponseMessage> PostAsClientAsync(HttpClient http, Uri replica, string path, IDictionary<string, string> form)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(replica, path)) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("leeds:leeds-sandbox-secret")));
        return await http.SendAsync(request);
    }

    private static CookieBrowser Browser(CookieContainer cookies, Uri replica) => new(cookies, replica);

    private static async Task SignInAsync(HttpClient browser, string returnUrl)
    {
        var path = "/sign-in?returnUrl=" + Uri.EscapeDataString(returnUrl);
        using var response = await browser.PostAsync("/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = await FormTokenAsync(browser, path),
            ["username"] = "smith",
            ["password"] = "sandbox",
            ["returnUrl"] = returnUrl,
        }));
        response.StatusCode.Should().Be(HttpStatusCode.Redirect, await response.Content.ReadAsStringAsync());
    }

    private static async Task<string> FormTokenAsync(HttpClient browser, string path)
    {
        using var response = await browser.GetAsync(path);
        var html = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, html);
        var match = TokenPattern().Match(html);
        match.Success.Should().BeTrue("the form carries an antiforgery token");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();

    /// <summary>A browser on one replica; replicas on 127.0.0.1 share its cookies, as behind one load balancer.</summary>
    private sealed class CookieBrowser : HttpClient
    {
        public CookieBrowser(CookieContainer cookies, Uri replica)
            : base(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false, UseCookies = true })
        {
            Jar = cookies;
            BaseAddress = replica;
        }

        public CookieContainer Jar { get; }
    }
}

/// <summary>The shared state does not fail open: with its Redis gone, a flow that needs it is refused cleanly.</summary>
public sealed class SharedStateOutageTests
{
    [Fact]
    public async Task PushedAuthorizationRequest_WhileRedisIsDown_IsStored_BecauseItLivesInTheAuthorizationDatabase()
    {
        await using var redis = await RedisServer.StartNewAsync();
        var directory = Directory.CreateTempSubdirectory("egw-shared-outage-").FullName;
        try
        {
            await using var app = TestGateway.Build(directory, new Dictionary<string, string?> { ["Cache:Redis"] = redis.Endpoint });
            var address = await app.StartOnFreePortAsync();
            using var http = new HttpClient { BaseAddress = address };
            var consentId = await ConsentAsync(http);

            await redis.StopAsync();
            using var pushed = await PushAsync(http, consentId);

            pushed.StatusCode.Should().Be(HttpStatusCode.Created, await pushed.Content.ReadAsStringAsync());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<string> ConsentAsync(HttpClient http)
    {
        using var tokenRequest = new HttpRequestMessage(HttpMethod.Post, "/connect/token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = "consents.manage" }),
        };
        tokenRequest.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("leeds:leeds-sandbox-secret")));
        using var tokenResponse = await http.SendAsync(tokenRequest);
        var token = JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("access_token").GetString()!;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/consents")
        {
            Content = new StringContent("""{"scheme":"free-school-meals","caseReference":"FSM-OUTAGE"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var created = await http.SendAsync(request);
        return JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("consentId").GetString()!;
    }

    private static Task<HttpResponseMessage> PushAsync(HttpClient http, string consentId)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/connect/par")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["response_type"] = "code",
                ["client_id"] = "leeds",
                ["redirect_uri"] = "http://127.0.0.1:8080/demo/callback",
                ["scope"] = "eligibility.check",
                ["code_challenge"] = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32)),
                ["code_challenge_method"] = "S256",
                ["authorization_details"] = $$"""[{"type":"eligibility-check","consent_id":"{{consentId}}"}]""",
            }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("leeds:leeds-sandbox-secret")));
        return http.SendAsync(request);
    }
}
