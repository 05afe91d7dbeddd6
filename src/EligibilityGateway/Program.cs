using EligibilityGateway.Security;
using EligibilityGateway.TrustFramework;
using Microsoft.Extensions.Options;

namespace EligibilityGateway;

/// <summary>Entry point of the gateway as its own deployable.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        try
        {
            await using var app = GatewayApplication.Build(args);
            await app.RunAsync();
            return 0;
        }
        catch (TrustFrameworkLoadException ex)
        {
            // An invalid trust framework at start-up stops the gateway, naming file, line and field.
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }
        catch (KeyRingException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }
        catch (OptionsValidationException ex)
        {
            await Console.Error.WriteLineAsync("Invalid configuration:\n" + string.Join('\n', ex.Failures));
            return 1;
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is OptionsValidationException))
        {
            // Several option sets failed validation at once: say everything that is wrong, not just the first.
            var failures = ex.InnerExceptions.Cast<OptionsValidationException>().SelectMany(e => e.Failures);
            await Console.Error.WriteLineAsync("Invalid configuration:\n" + string.Join('\n', failures));
            return 1;
        }
    }
}
