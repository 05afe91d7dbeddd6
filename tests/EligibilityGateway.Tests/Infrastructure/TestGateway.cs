using Microsoft.AspNetCore.Builder;
using EligibilityGateway.Sandbox;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.TrustFramework;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace EligibilityGateway.Tests.Infrastructure;

/// <summary>
/// The gateway exactly as it runs (<see cref="GatewayApplication.Build"/>), with every setting a test does not
/// care about taken from the sandbox's: the sandbox trust framework, keys and storage under a directory the
/// test owns, and providers pointed at <paramref name="mock"/> (by default a loopback port nothing listens on).
/// </summary>
internal static class TestGateway
{
    private static readonly Uri NoMock = new("http://127.0.0.1:9");

    /// <param name="dataDirectory">Storage and keys live here; the test deletes it.</param>
    /// <param name="settings">Overrides, applied after the baseline; a null value removes a baseline setting.</param>
    /// <param name="configure">Further changes to the builder (services, logging) after the settings.</param>
    /// <param name="mock">Where the mock central government listens, when the test needs providers to answer.</param>
    public static WebApplication Build(
        string dataDirectory,
        IDictionary<string, string?>? settings = null,
        Action<WebApplicationBuilder>? configure = null,
        Uri? mock = null) =>
        GatewayApplication.Build([], builder =>
        {
            var merged = SandboxHost.GatewaySettings(TrustFrameworkFiles.SandboxPath, dataDirectory, mock ?? NoMock, redis: null);
            foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            {
                if (value is null)
                {
                    merged.Remove(key);
                }
                else
                {
                    merged[key] = value;
                }
            }

            foreach (var (key, value) in merged.Where(s => s.Value is not null))
            {
                builder.Configuration[key] = value;
            }

            configure?.Invoke(builder);
        });

    /// <summary>
    /// Starts a gateway configured with <c>Cache:Redis</c> on a free port and waits until its Redis connection is up, as
    /// on a gateway that has been running a moment. The first connect gives up after <c>Cache:ConnectTimeout</c> (1 s),
    /// which a loaded test machine can exceed, and then the next attempt comes a second later; the cache fails open
    /// meanwhile, but the authorization state and the data-protection key ring refuse.
    /// </summary>
    public static async Task<Uri> StartWithRedisConnectedAsync(this WebApplication app)
    {
        var address = await app.StartOnFreePortAsync();
        var multiplexer = app.Services.GetRequiredService<IConnectionMultiplexer>();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!multiplexer.IsConnected)
        {
            if (waited.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new TimeoutException($"The gateway's Redis connection did not come up within 10 s: {multiplexer.GetStatus()}");
            }

            await Task.Delay(10);
        }

        return address;
    }
}
