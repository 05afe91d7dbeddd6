using System.Text.Json;
using EligibilityGateway.Tests.Infrastructure;

namespace EligibilityGateway.Tests.BulkChecks;

/// <summary>
/// What the bulk tests that start gateways of their own share: a mock central government process of the test's own, so
/// that its concurrency meter counts only the test's calls, a directory for the gateway's databases, and a client.
/// </summary>
public abstract class OwnMockBulkTest(string directoryPrefix) : IAsyncLifetime
{
    protected string DataDirectory { get; } = Directory.CreateTempSubdirectory(directoryPrefix).FullName;

    protected HttpClient Http { get; } = new();

    private protected ServiceProcess Mock { get; private set; } = null!;

    public async Task InitializeAsync() => Mock = await ServiceProcess.StartAsync("MockCentralGovernment.dll", new Dictionary<string, string?>());

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Mock.DisposeAsync();
        Directory.Delete(DataDirectory, recursive: true);
    }

    /// <summary>The calls the mock has taken for <paramref name="provider"/> since it started or its meter was reset.</summary>
    protected async Task<long> ProviderCallsAsync(string provider)
    {
        using var meter = JsonDocument.Parse(await Http.GetStringAsync(new Uri(Mock.Address, "/_control/concurrency")));
        return meter.RootElement.GetProperty("providers").EnumerateArray().Single(p => p.GetProperty("provider").GetString() == provider).GetProperty("calls").GetInt64();
    }
}
