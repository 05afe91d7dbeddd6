using EligibilityGateway.Sandbox.Demo;
using EligibilityGateway.Security;
using EligibilityGateway.ServiceDefaults;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using MockCentralGovernment;

namespace EligibilityGateway.Sandbox;

/// <summary>
/// The whole system in one process: the mock central government and the gateway, each on its own
/// Kestrel listener, composed exactly as their own Program classes compose them.
/// </summary>
internal sealed class SandboxHost : IAsyncDisposable
{
    private readonly WebApplication _mock;
    private readonly WebApplication _gateway;

    private SandboxHost(WebApplication mock, WebApplication gateway, Uri mockAddress, Uri gatewayAddress, string trustFrameworkPath, string dataDirectory)
    {
        _mock = mock;
        _gateway = gateway;
        MockAddress = mockAddress;
        GatewayAddress = gatewayAddress;
        TrustFrameworkPath = trustFrameworkPath;
        DataDirectory = dataDirectory;
    }

    public Uri GatewayAddress { get; }

    public Uri MockAddress { get; }

    public string TrustFrameworkPath { get; }

    public string DataDirectory { get; }

    /// <summary>The gateway's services, for tests that drive what has no HTTP surface of its own (a citizen's consent decision).</summary>
    internal IServiceProvider GatewayServices => _gateway.Services;

    /// <summary>Starts the mock, then the gateway; if the gateway cannot start, the mock is stopped again.</summary>
    /// <param name="options">What to run.</param>
    /// <param name="configureGateway">Lets tests add to the gateway's composition (e.g. a log capture) after the sandbox's own settings.</param>
    /// <param name="cancellationToken">Cancels start-up.</param>
    public static async Task<SandboxHost> StartAsync(SandboxOptions options, Action<WebApplicationBuilder>? configureGateway = null, CancellationToken cancellationToken = default)
    {
        var dataDirectory = Path.GetFullPath(options.DataDirectory);
        PrivateFiles.CreateDirectory(dataDirectory);
        var trustFramework = Path.GetFullPath(options.TrustFrameworkPath ?? SandboxFiles.FindSandboxTrustFramework(Directory.GetCurrentDirectory()));

        var mock = MockGovernmentApplication.Build([], builder =>
        {
            Quieten(builder);
            // One process: the gateway's exporters already see the mock's server spans, so the mock exports nothing itself.
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [ServiceTelemetry.EndpointSetting] = string.Empty });
        });
        var mockAddress = await StartAsync(mock, options.MockUrl, cancellationToken);
        try
        {
            var gateway = GatewayApplication.Build([], builder =>
            {
                Quieten(builder);
                builder.Configuration.AddInMemoryCollection(GatewaySettings(trustFramework, dataDirectory, mockAddress, options.Redis, options.Postgres));
                builder.Services.AddDemoCouncil();
                configureGateway?.Invoke(builder);
            });

            // The demo council (Demo/README.md) lives at /demo on the gateway's origin, where the sandbox framework
            // registers its redirect URI; it talks to the gateway only over HTTP, as any council's system would.
            gateway.MapDemoCouncil();
            var gatewayAddress = await StartAsync(gateway, options.GatewayUrl, cancellationToken);
            return new SandboxHost(mock, gateway, mockAddress, gatewayAddress, trustFramework, dataDirectory);
        }
        catch
        {
            await mock.StopAsync(CancellationToken.None);
            await mock.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The gateway's sandbox configuration: storage and generated keys under the data directory, and every
    /// provider pointed at the mock wherever it actually listens, with the mock's sandbox credentials.
    /// </summary>
    internal static Dictionary<string, string?> GatewaySettings(string trustFramework, string dataDirectory, Uri mockAddress, string? redis, string? postgres = null)
    {
        var mock = mockAddress.GetLeftPart(UriPartial.Authority);
        var settings = new Dictionary<string, string?>
        {
            ["TrustFramework:Path"] = trustFramework,
            ["Storage:Directory"] = dataDirectory,
            ["Keys:Directory"] = Path.Combine(dataDirectory, "keys"),
            ["Keys:GenerateIfMissing"] = "true",
            ["Cache:Redis"] = redis,
            ["Audit:Postgres:ConnectionString"] = postgres,
            ["Consents:Postgres:ConnectionString"] = postgres,
            ["BulkChecks:Postgres:ConnectionString"] = postgres,
        };
        foreach (var provider in SandboxProviders)
        {
            settings[$"Providers:{provider}:BaseUrl"] = $"{mock}/{provider}";
            settings[$"Providers:{provider}:Credential"] = $"{provider}-sandbox-credential";
        }

        return settings;
    }

    /// <summary>The providers of <c>trust-frameworks/sandbox.yaml</c>, each served by the mock under its own id.</summary>
    private static readonly string[] SandboxProviders = ["dwp", "hmrc", "home-office"];

    /// <summary>Completes when either application is asked to stop (Ctrl+C, SIGTERM).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) =>
        Task.WhenAny(_gateway.WaitForShutdownAsync(cancellationToken), _mock.WaitForShutdownAsync(cancellationToken));

    public async ValueTask DisposeAsync()
    {
        // The gateway goes first so that it is never left calling a stopped mock.
        await _gateway.StopAsync(CancellationToken.None);
        await _gateway.DisposeAsync();
        await _mock.StopAsync(CancellationToken.None);
        await _mock.DisposeAsync();
    }

    private static async Task<Uri> StartAsync(WebApplication app, Uri url, CancellationToken cancellationToken)
    {
        app.Urls.Clear();
        app.Urls.Add(url.GetLeftPart(UriPartial.Authority));
        await app.StartAsync(cancellationToken);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Uri(bound);
    }

    // Two hosts in one console would each announce themselves; the walkthrough says it once.
    private static void Quieten(WebApplicationBuilder builder) =>
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
        });
}
