using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Sandbox;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace EligibilityGateway.Tests.EndToEnd;

/// <summary>
/// The sandbox composition (mock central government + gateway) on free loopback ports, with its own real
/// Redis and its own data directory, for one test class.
/// </summary>
public class SandboxFixture : IAsyncLifetime
{
    internal RedisServer Redis { get; private set; } = null!;

    internal SandboxHost Sandbox { get; private set; } = null!;

    internal LogCapture Logs { get; } = new();

    internal HttpClient Http { get; } = new();

    internal string DataDirectory { get; } = Directory.CreateTempSubdirectory("egw-e2e-").FullName;

    internal string AuditDatabase => Path.Combine(DataDirectory, "audit.db");

    /// <summary>A different trust framework for the sandbox, or null for <c>trust-frameworks/sandbox.yaml</c>.</summary>
    protected virtual string? TrustFramework() => null;

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartNewAsync();
        Sandbox = await SandboxHost.StartAsync(
            new SandboxOptions
            {
                GatewayUrl = new Uri("http://127.0.0.1:0"),
                MockUrl = new Uri("http://127.0.0.1:0"),
                DataDirectory = DataDirectory,
                Redis = Redis.Endpoint,
                TrustFrameworkPath = TrustFramework(),
            },
            builder =>
            {
                // Everything, framework categories included, so that the privacy scan sees every line that could be written.
                builder.Configuration["Logging:LogLevel:Default"] = "Trace";
                builder.Configuration["Logging:LogLevel:Microsoft"] = "Trace";
                builder.Configuration["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace";
                builder.Configuration["Logging:LogLevel:System"] = "Trace";
                builder.Logging.AddProvider(Logs);
            });
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Sandbox.DisposeAsync();
        await Redis.DisposeAsync();
        Directory.Delete(DataDirectory, recursive: true);
    }

    internal Uri Gateway(string path) => new(Sandbox.GatewayAddress, path);

    internal Uri Mock(string path) => new(Sandbox.MockAddress, path);

    /// <summary>A client-credentials access token for a sandbox client.</summary>
    internal Task<string> TokenAsync(string client = "leeds", string scope = "eligibility.check") =>
        SandboxClients.TokenAsync(Http, Sandbox.GatewayAddress, client, scope);

    /// <summary>Posts a check body (raw JSON) with a bearer token; no token when <paramref name="token"/> is null.</summary>
    internal async Task<HttpResponseMessage> PostCheckAsync(string? token, string json, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Gateway("/v1/checks"))
        {
            Content = new StringContent(json, Encoding.UTF8, contentType),
        };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await Http.SendAsync(request);
    }

    internal async Task<HttpResponseMessage> GetCheckAsync(string token, string checkId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Gateway($"/v1/checks/{checkId}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await Http.SendAsync(request);
    }

    /// <summary>Sets one mock provider's faults through its control API.</summary>
    internal async Task SetFaultsAsync(string provider, object settings)
    {
        using var response = await Http.PutAsJsonAsync(Mock($"/_control/providers/{provider}"), settings);
        response.EnsureSuccessStatusCode();
    }

    internal async Task ResetFaultsAsync()
    {
        using var response = await Http.DeleteAsync(Mock("/_control/providers"));
        response.EnsureSuccessStatusCode();
    }
}
