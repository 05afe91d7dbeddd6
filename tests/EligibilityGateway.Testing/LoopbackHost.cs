using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace EligibilityGateway.Testing;

/// <summary>Starts applications on real Kestrel at a free loopback port, so tests speak real HTTP.</summary>
public static class LoopbackHost
{
    /// <summary>Binds <paramref name="app"/> to 127.0.0.1 on a port the OS picks, starts it and returns its base address.</summary>
    public static async Task<Uri> StartOnFreePortAsync(this WebApplication app, CancellationToken cancellationToken = default)
    {
        app.Urls.Clear();
        app.Urls.Add("http://127.0.0.1:0");
        await app.StartAsync(cancellationToken);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        return new Uri(addresses.First());
    }
}
