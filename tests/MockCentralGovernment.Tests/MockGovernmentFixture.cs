using System.Net.Http.Headers;
using EligibilityGateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MockCentralGovernment.Population;

namespace MockCentralGovernment.Tests;

/// <summary>
/// One mock central government on real Kestrel at a free loopback port, shared by the tests of one class (each class
/// gets its own, so fault settings changed by one class never reach another).
/// </summary>
public sealed class MockGovernmentFixture : IAsyncLifetime
{
    public const string DwpCredential = "dwp-sandbox-credential";
    public const string HmrcCredential = "hmrc-sandbox-credential";
    public const string HomeOfficeCredential = "home-office-sandbox-credential";

    private WebApplication? _app;

    public Uri BaseAddress { get; private set; } = null!;

    public ContractCheckingHandler Contracts { get; } = new(ProviderContracts.Instance);

    internal PopulationStore Population => _app!.Services.GetRequiredService<PopulationStore>();

    internal IServiceProvider Services => _app!.Services;

    public async Task InitializeAsync()
    {
        _app = Build();
        BaseAddress = await _app.StartOnFreePortAsync();
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        Contracts.Dispose();
    }

    /// <summary>The app as the tests run it: sandbox defaults, quiet logs, plus <paramref name="settings"/>.</summary>
    public static WebApplication Build(IReadOnlyDictionary<string, string?>? settings = null) =>
        MockGovernmentApplication.Build([], builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            if (settings is not null)
            {
                builder.Configuration.AddInMemoryCollection(settings);
            }
        });

    /// <summary>
    /// A client whose every exchange is checked against the contracts, sending <paramref name="credential"/> if given
    /// and, unless <paramref name="callerHeaders"/> is false, the caller headers every provider call must carry.
    /// </summary>
    public HttpClient Client(string? credential = null, bool callerHeaders = true)
    {
        var client = new HttpClient(Contracts, disposeHandler: false) { BaseAddress = BaseAddress };
        if (credential is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", credential);
        }

        if (callerHeaders)
        {
            Api.AddCallerHeaders(client.DefaultRequestHeaders);
        }

        return client;
    }
}
