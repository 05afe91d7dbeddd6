using EligibilityGateway.Security;
using EligibilityGateway.TrustFramework;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Sandbox;

/// <summary>
/// <c>dotnet run --project src/EligibilityGateway.Sandbox</c>: the whole system on loopback with embedded
/// defaults, for a newcomer's first five minutes and for demos.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var parsed = SandboxOptions.Parse(args);
        if (parsed.ShowHelp)
        {
            Console.WriteLine(SandboxOptions.Usage);
            return 0;
        }

        if (parsed.Error is not null)
        {
            await Console.Error.WriteLineAsync(parsed.Error);
            await Console.Error.WriteLineAsync(SandboxOptions.Usage);
            return 2;
        }

        SandboxHost host;
        try
        {
            host = await SandboxHost.StartAsync(parsed.Options);
        }
        catch (Exception ex) when (ex is TrustFrameworkLoadException or KeyRingException or OptionsValidationException)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }
        catch (IOException ex)
        {
            // Kestrel reports an address in use as an IOException; say which option moves it.
            await Console.Error.WriteLineAsync($"Could not start: {ex.Message}");
            await Console.Error.WriteLineAsync("Another process may hold the port; pick others with --gateway-url and --mock-url.");
            return 1;
        }

        await using (host)
        {
            Console.WriteLine(Walkthrough.Render(host, parsed.Options));
            await host.WaitForShutdownAsync();
        }

        return 0;
    }
}
