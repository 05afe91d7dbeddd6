using EligibilityGateway.Tests.Infrastructure;
using System.Collections.Concurrent;
using System.Net.Http.Json;
using EligibilityGateway.Checks;
using EligibilityGateway.Providers;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.TrustFramework;
using EligibilityGateway.TrustFramework;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MockCentralGovernment;

namespace EligibilityGateway.Tests.Providers;

/// <summary>
/// The real mock central government and a real gateway with the provider feature, both on loopback Kestrel, with
/// the logs of both captured. One per test that changes fault settings, so tests never see each other's faults.
/// </summary>
internal sealed class ProviderTestEnvironment : IAsyncDisposable
{
    public const string DwpCredential = "dwp-sandbox-credential";
    public const string HmrcCredential = "hmrc-sandbox-credential";
    public const string HomeOfficeCredential = "home-office-sandbox-credential";

    private readonly string directory;
    private readonly HttpClient control;

    private ProviderTestEnvironment(WebApplication mock, Uri mockAddress, WebApplication gateway, CapturedLogs mockLogs, CapturedLogs gatewayLogs, string directory)
    {
        Mock = mock;
        MockAddress = mockAddress;
        Gateway = gateway;
        MockLogs = mockLogs;
        GatewayLogs = gatewayLogs;
        this.directory = directory;
        control = new HttpClient { BaseAddress = mockAddress };
    }

    public WebApplication Mock { get; }

    public Uri MockAddress { get; }

    public WebApplication Gateway { get; }

    public CapturedLogs MockLogs { get; }

    public CapturedLogs GatewayLogs { get; }

    public SchemeEvaluator Evaluator => Gateway.Services.GetRequiredService<SchemeEvaluator>();

    public ProviderCircuits Circuits => Gateway.Services.GetRequiredService<ProviderCircuits>();

    /// <param name="settings">
    /// Gateway configuration over the test defaults (null removes a default); <c>{mock}/</c> in a value stands for the
    /// mock's base address.
    /// </param>
    /// <param name="editFramework">Changes the sandbox framework's text; the result is written to a file this environment owns.</param>
    /// <param name="clock">The gateway's clock (back-off, timeouts, the circuit breaker); the system clock unless given.</param>
    public static async Task<ProviderTestEnvironment> StartAsync(
        IReadOnlyDictionary<string, string?>? settings = null,
        Func<string, string>? editFramework = null,
        TimeProvider? clock = null)
    {
        var directory = Directory.CreateTempSubdirectory("providers-").FullName;
        var mockLogs = new CapturedLogs();
        var mock = MockGovernmentApplication.Build([], b =>
        {
            b.Configuration["MockCentralGovernment:Population:Size"] = "0";
            b.Configuration["MockCentralGovernment:Control:FaultSeed"] = "20261122";
            b.Configuration["Logging:LogLevel:MockCentralGovernment.Faults"] = "Debug";
            b.Logging.AddProvider(mockLogs);
        });
        var mockAddress = await mock.StartOnFreePortAsync();

        var frameworkPath = Path.Combine(directory, "framework.yaml");
        var sandbox = await File.ReadAllTextAsync(TrustFrameworkFiles.SandboxPath);
        await File.WriteAllTextAsync(frameworkPath, editFramework is null ? sandbox : editFramework(sandbox));

        var defaults = new Dictionary<string, string?>
        {
            ["TrustFramework:Path"] = frameworkPath,
            ["TrustFramework:PollInterval"] = "00:00:00.050",
            ["Providers:dwp:BaseUrl"] = new Uri(mockAddress, "dwp").ToString(),
            ["Providers:dwp:Credential"] = DwpCredential,
            ["Providers:hmrc:BaseUrl"] = new Uri(mockAddress, "hmrc").ToString(),
            ["Providers:hmrc:Credential"] = HmrcCredential,
            ["Providers:home-office:BaseUrl"] = new Uri(mockAddress, "home-office").ToString(),
            ["Providers:home-office:Credential"] = HomeOfficeCredential,
            // Short backoff keeps the suite fast; every test that depends on a delay sets its own.
            ["ProviderResilience:RetryBaseDelay"] = "00:00:00.020",
            ["ProviderResilience:RetryMaxDelay"] = "00:00:00.200",
            ["Logging:LogLevel:EligibilityGateway.Providers"] = "Debug",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            defaults[key] = value?.Replace("{mock}/", mockAddress.ToString(), StringComparison.Ordinal);
        }

        var gatewayLogs = new CapturedLogs();
        var gateway = TestGateway.Build(directory, defaults, b =>
        {
            b.Logging.AddProvider(gatewayLogs);
            if (clock is not null)
            {
                b.Services.AddSingleton(clock);
            }
        }, mockAddress);

        try
        {
            await gateway.StartOnFreePortAsync();
        }
        catch
        {
            await gateway.DisposeAsync();
            await mock.DisposeAsync();
            Directory.Delete(directory, recursive: true);
            throw;
        }

        return new ProviderTestEnvironment(mock, mockAddress, gateway, mockLogs, gatewayLogs, directory);
    }

    public string FrameworkPath => Path.Combine(directory, "framework.yaml");

    public PolicyGrant Grant(string scheme)
    {
        var decision = Gateway.Services.GetRequiredService<PolicyEngine>().Decide("leeds", scheme, "consent");
        decision.IsAllowed.Should().BeTrue(decision.Rule);
        return decision.Grant!;
    }

    public Task<SchemeAnswer> EvaluateAsync(string scheme, Subject subject) =>
        Evaluator.EvaluateAsync(Grant(scheme), subject, CancellationToken.None);

    /// <summary><c>PUT /_control/providers/{provider}</c>: absent fields take their defaults.</summary>
    public async Task SetFaultsAsync(string provider, object settings)
    {
        using var response = await control.PutAsJsonAsync(new Uri($"/_control/providers/{provider}", UriKind.Relative), settings);
        response.EnsureSuccessStatusCode();
    }

    /// <summary><c>GET /_control/calls</c>: the calls the mock has seen, oldest first, with their caller headers.</summary>
    public async Task<IReadOnlyList<System.Text.Json.JsonElement>> RecordedCallsAsync()
    {
        using var response = await control.GetAsync(new Uri("/_control/calls", UriKind.Relative));
        response.EnsureSuccessStatusCode();
        using var document = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. document.RootElement.GetProperty("calls").EnumerateArray().Select(c => c.Clone())];
    }

    /// <summary><c>DELETE /_control/providers/{provider}</c>: back to no faults.</summary>
    public async Task ResetFaultsAsync(string provider)
    {
        using var response = await control.DeleteAsync(new Uri($"/_control/providers/{provider}", UriKind.Relative));
        response.EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync()
    {
        control.Dispose();
        await Gateway.DisposeAsync();
        await Mock.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }
}

/// <summary>The sandbox fixtures, as the check endpoint would hand them over: validated and normalised.</summary>
internal static class Fixtures
{
    public static Subject Smith { get; } = new(IdentifierKind.NationalInsuranceNumber, "AB123456C", "Smith", new DateOnly(1990, 1, 1));

    public static Subject Jones { get; } = new(IdentifierKind.NationalInsuranceNumber, "CE234567A", "Jones", new DateOnly(1985, 5, 15));

    public static Subject Taylor { get; } = new(IdentifierKind.NationalInsuranceNumber, "EH345678B", "Taylor", new DateOnly(1978, 11, 30));

    public static Subject Brown { get; } = new(IdentifierKind.NationalInsuranceNumber, "JK456789C", "Brown", new DateOnly(1992, 2, 29));

    public static Subject Khan { get; } = new(IdentifierKind.NationalAsylumSeekerServiceNumber, "240712349", "Khan", new DateOnly(1990, 1, 1));

    public static IReadOnlyDictionary<string, Subject> ByName { get; } = new Dictionary<string, Subject>
    {
        ["Smith"] = Smith,
        ["Jones"] = Jones,
        ["Taylor"] = Taylor,
        ["Brown"] = Brown,
        ["Khan"] = Khan,
    };

    /// <summary>Every piece of personal data the fixtures hold, in the spellings a log line could carry.</summary>
    public static IEnumerable<string> PersonalData => ByName.Values.SelectMany(s => new[]
    {
        s.Identifier,
        s.LastName,
        s.DateOfBirth.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        s.DateOfBirth.ToString("dd/MM/yyyy", System.Globalization.CultureInfo.InvariantCulture),
    }).Concat(["3f6b1c2e-8d4a-4e7b-9a51-2c0d7e9f1a01", "8a27e4d9-51c3-4f60-b8e2-6d94a0c3b702"]);
}

/// <summary>One log entry as written.</summary>
internal sealed record CapturedLog(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);

/// <summary>An <see cref="ILoggerProvider"/> that keeps every entry, formatted, for assertions.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> entries = new();

    public IReadOnlyList<CapturedLog> Entries => entries.ToArray();

    public IReadOnlyList<CapturedLog> WithEventId(int id) => entries.Where(e => e.EventId.Id == id).ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.entries.Enqueue(new CapturedLog(category, logLevel, eventId, formatter(state, exception), exception));
    }
}
