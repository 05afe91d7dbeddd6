using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Audit;
using EligibilityGateway.Authorization;
using EligibilityGateway.Checks;
using EligibilityGateway.Consents;
using EligibilityGateway.Security;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.EndToEnd;
using EligibilityGateway.Tests.Infrastructure;
using EligibilityGateway.Tests.TrustFramework;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;
using MockCentralGovernment;

namespace EligibilityGateway.Tests.Consents;

/// <summary>
/// The mock central government and the gateway on loopback ports, with the gateway on a clock the tests move by
/// hand, every log line captured, and a recorder of revocation notices. One per test class; tests in a class run
/// one after another and only ever move the clock forwards, each with consents and tokens of its own.
/// </summary>
public sealed class ConsentGateway : IAsyncLifetime
{
    private WebApplication mock = null!;

    internal string DataDirectory { get; } = Directory.CreateTempSubdirectory("egw-consents-").FullName;

    internal FakeTimeProvider Clock { get; } = new(TimeProvider.System.GetUtcNow());

    internal LogCapture Logs { get; } = new();

    internal RevocationRecorder Revocations { get; } = new();

    internal WebApplication Gateway { get; private set; } = null!;

    internal Uri Address { get; private set; } = null!;

    internal HttpClient Http { get; } = new();

    internal string ConsentDatabase => Path.Combine(DataDirectory, "consents.db");

    internal ConsentService Consents => Gateway.Services.GetRequiredService<ConsentService>();

    public async Task InitializeAsync()
    {
        mock = MockGovernmentApplication.Build([], b => b.Configuration["MockCentralGovernment:Population:Size"] = "0");
        var mockAddress = await mock.StartOnFreePortAsync();
        Gateway = TestGateway.Build(
            DataDirectory,
            new Dictionary<string, string?>
            {
                // Every category at every level, so that the privacy scan sees every line that could be written.
                ["Logging:LogLevel:Default"] = "Trace",
                ["Logging:LogLevel:Microsoft"] = "Trace",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
                ["Logging:LogLevel:System"] = "Trace",
            },
            builder =>
            {
                builder.Services.AddSingleton<TimeProvider>(Clock);
                builder.Services.AddSingleton<IConsentRevocationObserver>(Revocations);
                builder.Logging.AddProvider(Logs);
            },
            mockAddress);
        Address = await Gateway.StartOnFreePortAsync();
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Gateway.StopAsync();
        await Gateway.DisposeAsync();
        await mock.StopAsync();
        await mock.DisposeAsync();
        Directory.Delete(DataDirectory, recursive: true);
    }

    internal Uri Url(string path) => new(Address, path);

    /// <summary>A client-credentials token from <c>/connect/token</c> (sandbox secret).</summary>
    internal async Task<string> TokenAsync(string client = "leeds", string scope = "consents.manage")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Url("/connect/token"))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = scope }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{client}:{client}-sandbox-secret")));
        using var response = await Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("access_token").GetString()!;
    }

    /// <summary>
    /// A consent-bound access token, as the authorization-code flow will issue it: signed with the gateway's own active
    /// key, <c>authorization_details</c> naming the consent (RFC 9396), valid for five minutes on the gateway's clock.
    /// </summary>
    internal string ConsentToken(string consentId, string client = "leeds", object? authorizationDetails = null)
    {
        var now = Clock.GetUtcNow().ToUnixTimeSeconds();
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Gateway.Services.GetRequiredService<GatewayIssuer>().Identifier,
            ["aud"] = "eligibility-gateway",
            ["sub"] = "citizen-account-1",
            ["client_id"] = client,
            ["scope"] = "eligibility.check",
            ["jti"] = Guid.NewGuid().ToString(),
            ["iat"] = now,
            ["nbf"] = now,
            ["exp"] = now + 300,
            ["authorization_details"] = authorizationDetails ?? new object[] { new Dictionary<string, object> { ["type"] = "eligibility-check", ["consent_id"] = consentId } },
        };
        var key = Gateway.Services.GetRequiredService<KeyRing>().ActiveSigningKey;
        var header = Base64UrlEncoder.Encode(JsonSerializer.Serialize(new Dictionary<string, string> { ["alg"] = "ES256", ["typ"] = "at+jwt", ["kid"] = key.KeyId }));
        var payload = Base64UrlEncoder.Encode(JsonSerializer.Serialize(claims));
        // .NET's ECDSA signs in IEEE P1363 form (r ‖ s), which is what JWS ES256 wants (RFC 7518 §3.4).
        var signature = key.ECDsa.SignData(Encoding.ASCII.GetBytes($"{header}.{payload}"), HashAlgorithmName.SHA256);
        return $"{header}.{payload}.{Base64UrlEncoder.Encode(signature)}";
    }

    internal async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, string? json = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, Url(path));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, contentType);
        }

        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await Http.SendAsync(request);
    }

    /// <summary>Creates a consent through the API and returns its body; fails the test if it is not 201.</summary>
    internal async Task<JsonElement> CreateConsentAsync(string scheme = "free-school-meals", string? expiresAt = null, string client = "leeds")
    {
        var body = expiresAt is null
            ? $$"""{"scheme":"{{scheme}}","caseReference":"CONSENT-1"}"""
            : $$"""{"scheme":"{{scheme}}","caseReference":"CONSENT-1","expiresAt":"{{expiresAt}}"}""";
        using var response = await SendAsync(HttpMethod.Post, "/v1/consents", await TokenAsync(client), body);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(System.Net.HttpStatusCode.Created, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Creates a consent and has the citizen authorise it, as the consent page will.</summary>
    internal async Task<string> AuthorisedConsentAsync(Subject subject, string scheme = "free-school-meals", string? expiresAt = null)
    {
        var consentId = (await CreateConsentAsync(scheme, expiresAt)).GetProperty("consentId").GetString()!;
        var change = await Consents.AuthoriseAsync(consentId, subject, "citizen-account-1");
        change.Should().BeOfType<ConsentChange.Made>();
        return consentId;
    }

    internal async Task<JsonElement> GetConsentAsync(string consentId, string client = "leeds")
    {
        using var response = await SendAsync(HttpMethod.Get, $"/v1/consents/{consentId}", await TokenAsync(client));
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(System.Net.HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    internal Task<HttpResponseMessage> CheckAsync(string token, string json) => SendAsync(HttpMethod.Post, "/v1/checks", token, json);

    /// <summary>Every audit record about <paramref name="consentId"/>, oldest first.</summary>
    internal async Task<IReadOnlyList<AuditEntry>> AuditAsync(string consentId)
    {
        var store = Gateway.Services.GetRequiredService<IAuditStore>();
        var entries = new List<AuditEntry>();
        for (long from = 1; ;)
        {
            var page = await store.ReadAsync(from, 500, CancellationToken.None);
            entries.AddRange(page.Where(r => r.Entry.ConsentId == consentId).Select(r => r.Entry));
            if (page.Count < 500)
            {
                return entries;
            }

            from = page[^1].Sequence + 1;
        }
    }
}

/// <summary>Keeps every revocation notice the gateway sends.</summary>
internal sealed class RevocationRecorder : IConsentRevocationObserver
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<ConsentRevoked> notices = new();

    public IReadOnlyCollection<ConsentRevoked> Notices => notices;

    public ValueTask OnConsentRevokedAsync(ConsentRevoked revoked, CancellationToken cancellationToken)
    {
        notices.Enqueue(revoked);
        return ValueTask.CompletedTask;
    }
}

/// <summary>The sandbox fixtures as the consent page will bind them: verified and normalised.</summary>
internal static class Citizens
{
    public static readonly Subject Smith = new(IdentifierKind.NationalInsuranceNumber, "AB123456C", "Smith", new DateOnly(1990, 1, 1));
    public static readonly Subject Jones = new(IdentifierKind.NationalInsuranceNumber, "CE234567A", "Jones", new DateOnly(1985, 5, 15));
    public static readonly Subject Taylor = new(IdentifierKind.NationalInsuranceNumber, "EH345678B", "Taylor", new DateOnly(1978, 11, 30));
    public static readonly Subject Khan = new(IdentifierKind.NationalAsylumSeekerServiceNumber, "240712349", "Khan", new DateOnly(1990, 1, 1));
}

/// <summary>Reads JSON bodies.</summary>
internal static class Json
{
    public static async Task<JsonElement> ReadAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
}
