namespace MockCentralGovernment;

/// <summary>Entry point of the mock central government as its own deployable.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var app = MockGovernmentApplication.Build(args);
        await app.RunAsync();
        return 0;
    }
}
