namespace EligibilityGateway;

/// <summary>Entry point of the gateway as its own deployable.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var app = GatewayApplication.Build(args);
        await app.RunAsync();
        return 0;
    }
}
