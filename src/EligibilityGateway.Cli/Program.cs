namespace EligibilityGateway.Cli;

/// <summary>Entry point of <c>egw</c>, the operator's tool (root README). Exit codes: <see cref="EgwCommandLine"/>.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };
        return await EgwCommandLine.RunAsync(args, EgwConsole.System, cancellation.Token);
    }
}
