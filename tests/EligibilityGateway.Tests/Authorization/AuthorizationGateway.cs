using EligibilityGateway.Tests.Infrastructure;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Authorization;
using EligibilityGateway.Security;
using EligibilityGateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace EligibilityGateway.Tests.Authorization;

/// <summary>
/// The gateway as it runs (<see cref="TestGateway"/>) on a free loopback port, with two probe endpoints behind the
/// scope policies. Everything goes through real HTTP.
/// </summary>
internal sealed class AuthorizationGateway : IAsyncDisposable
{
    public const string CheckProbe = "/probe/check";
    public const string AuditProbe = "/probe/audit";

    private readonly string keyDirectory;

    private AuthorizationGateway(WebApplication app, Uri baseAddress, string keyDirectory)
    {
        App = app;
        BaseAddress = baseAddress;
        this.keyDirectory = keyDirectory;
        Client = new HttpClient { BaseAddress = baseAddress };
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    /// <summary>The issuer the gateway derives when none is configured: its bound address without the slash.</summary>
    public string DerivedIssuer => BaseAddress.GetLeftPart(UriPartial.Authority);

    /// <summary>The issuer identifier as published and put in <c>iss</c>: the URL's serialised form, with its trailing slash.</summary>
    public string IssuerIdentifier => DerivedIssuer + "/";

    public T Service<T>()
        where T : notnull => App.Services.GetRequiredService<T>();

    public static async Task<AuthorizationGateway> StartAsync(
        string frameworkPath,
        TimeProvider? clock = null,
        IReadOnlyDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null)
    {
        var keyDirectory = Directory.CreateTempSubdirectory("gateway-keys-").FullName;
        var merged = new Dictionary<string, string?>
        {
            ["TrustFramework:Path"] = frameworkPath,
            ["TrustFramework:PollInterval"] = "00:00:00.050",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            merged[key] = value;
        }

        var app = TestGateway.Build(keyDirectory, merged, b =>
        {
            if (clock is not null)
            {
                b.Services.AddSingleton(clock);
            }

            services?.Invoke(b.Services);
        });
        app.MapGet(CheckProbe, (HttpContext context) => Probe(context)).RequireAuthorization(GatewayScopes.EligibilityCheck);
        app.MapGet(AuditProbe, (HttpContext context) => Probe(context)).RequireAuthorization(GatewayScopes.AuditRead);
        try
        {
            return new AuthorizationGateway(app, await app.StartOnFreePortAsync(), keyDirectory);
        }
        catch
        {
            await app.DisposeAsync();
            Directory.Delete(keyDirectory, recursive: true);
            throw;
        }
    }

    /// <summary>What an endpoint learns about its caller through <see cref="CallerExtensions"/>.</summary>
    private static IResult Probe(HttpContext context)
    {
        var framework = context.RequestServices.GetRequiredService<EligibilityGateway.TrustFramework.TrustFrameworkMonitor>().Current;
        return Results.Json(new
        {
            clientId = context.GetCallerClientId(),
            council = context.TryGetCallerCouncil(framework, out var council) ? council.Id : null,
            auditor = context.TryGetCallerAuditor(framework, out var auditor) ? auditor.Id : null,
            name = context.User.Identity?.Name,
            claims = context.User.Claims.Select(c => $"{c.Type}={c.Value}").ToArray(),
        });
    }

    public Task<HttpResponseMessage> PostTokenAsync(IEnumerable<KeyValuePair<string, string>> form, AuthenticationHeaderValue? authorization = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/connect/token") { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = authorization;
        return Client.SendAsync(request);
    }

    public Task<HttpResponseMessage> PostTokenWithSecretAsync(string clientId, string secret, string? scope = null)
    {
        var form = new List<KeyValuePair<string, string>> { new("grant_type", "client_credentials") };
        if (scope is not null)
        {
            form.Add(new("scope", scope));
        }

        return PostTokenAsync(form, Basic(clientId, secret));
    }

    /// <summary>A token for a sandbox client, failing the test if none is issued.</summary>
    public async Task<string> TokenWithSecretAsync(string clientId, string secret, string? scope = null)
    {
        using var response = await PostTokenWithSecretAsync(clientId, secret, scope);
        var body = await response.Content.ReadAsStringAsync();
        response.IsSuccessStatusCode.Should().BeTrue(body);
        return JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
    }

    public Task<HttpResponseMessage> GetWithTokenAsync(string path, string? token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return Client.SendAsync(request);
    }

    /// <summary>RFC 6749 §2.3.1: each part form-urlencoded, then Basic.</summary>
    public static AuthenticationHeaderValue Basic(string clientId, string secret) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.EscapeDataString(clientId) + ":" + Uri.EscapeDataString(secret))));

    public KeyRing KeyRing => Service<KeyRing>();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.DisposeAsync();
        Directory.Delete(keyDirectory, recursive: true);
    }
}

/// <summary>Reads the parts of an OAuth response a test asserts on.</summary>
internal static class OAuthResponses
{
    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    /// <summary>Asserts an RFC 6749 §5.2 error response and returns its description.</summary>
    public static async Task<string> ShouldBeOAuthErrorAsync(this HttpResponseMessage response, int status, string error)
    {
        var body = await response.Content.ReadAsStringAsync();
        ((int)response.StatusCode).Should().Be(status, body);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        response.Headers.CacheControl!.NoStore.Should().BeTrue();
        var json = JsonDocument.Parse(body).RootElement;
        json.GetProperty("error").GetString().Should().Be(error, body);
        var description = json.GetProperty("error_description").GetString()!;
        // RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
        description.Should().MatchRegex("^[\\x20-\\x21\\x23-\\x5B\\x5D-\\x7E]+$");
        return description;
    }

    /// <summary>The JWT's decoded header and payload.</summary>
    public static (JsonElement Header, JsonElement Payload) Decode(string jwt)
    {
        var parts = jwt.Split('.');
        parts.Should().HaveCount(3);
        return (Part(parts[0]), Part(parts[1]));

        static JsonElement Part(string part) => JsonDocument.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(part)).RootElement;
    }
}
