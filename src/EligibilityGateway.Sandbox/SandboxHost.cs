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

    /// <summary>Starts the mock, then the gateway; if the gateway cannot start, the mock is stopped again.</summary>
    public static async Task<SandboxHost> StartAsync(SandboxOptions options, CancellationToken cancellationToken = default)
    {
        var dataDirectory = Path.GetFullPath(options.DataDirectory);
        Directory.CreateDirectory(dataDirectory);
        var trustFramework = Path.GetFullPath(options.TrustFrameworkPath ?? SandboxFiles.FindSandboxTrustFramework(Directory.GetCurrentDirectory()));

        var mock = MockGovernmentApplication.Build([], builder => Quieten(builder));
        var mockAddress = await StartAsync(mock, options.MockUrl, cancellationToken);
        try
        {
            var gateway = GatewayApplication.Build([], builder =>
            {
                Quieten(builder);
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["TrustFramework:Path"] = trustFramework,
                    ["Storage:Directory"] = dataDirectory,
                    ["Cache:Redis"] = options.Redis,
                });
            });
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
