using System.Diagnostics.Metrics;
using System.Net;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.Infrastructure;
using EligibilityGateway.TrustFramework;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Tests.TrustFramework;

/// <summary>The framework inside the running gateway: start-up, readiness and reload, on real files and real HTTP.</summary>
public sealed class TrustFrameworkHostingTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("trust-framework-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task Start_WithSandboxFramework_ReportsReadyOverHttp()
    {
        await using var app = BuildGateway(TrustFrameworkFiles.SandboxPath);
        var baseAddress = await app.StartOnFreePortAsync();
        using var client = new HttpClient { BaseAddress = baseAddress };

        using var response = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        app.Services.GetRequiredService<TrustFrameworkMonitor>().Current.Definition.Id.Should().Be("eligibility-gateway-sandbox");
    }

    [Fact]
    public async Task Start_WithInvalidFramework_FailsWithEveryErrorOnItsOwnLine()
    {
        var path = Write("bad.yaml", TrustFrameworkFiles.ValidProduction()
            .ReplaceOnce("- council: camden", "- council: york")
            .ReplaceOnce("sandbox: false\n", "sandbox: false\nowner: someone\n"));
        await using var app = BuildGateway(path);

        var failure = await app.Invoking(a => a.StartOnFreePortAsync()).Should().ThrowAsync<TrustFrameworkLoadException>();

        var exception = failure.Which;
        exception.Errors.Select(e => e.FieldPath).Should().Equal("owner", "permissions[1].council");
        exception.Errors.Should().OnlyContain(e => e.File == path);
        var lines = exception.Message.Split('\n');
        lines.Should().HaveCount(3);
        lines[1].Should().StartWith($"{path}:5:1: owner: unknown key");
        lines[2].Should().MatchRegex($@"^{System.Text.RegularExpressions.Regex.Escape(path)}:[0-9]+:14: permissions\[1\]\.council: unknown council 'york'$");
    }

    [Fact]
    public async Task Start_WithMissingFile_FailsNamingTheFile()
    {
        var path = Path.Combine(directory, "absent.yaml");
        await using var app = BuildGateway(path);

        var failure = await app.Invoking(a => a.StartOnFreePortAsync()).Should().ThrowAsync<TrustFrameworkLoadException>();

        failure.Which.Message.Should().Contain($"{path}:1:1: cannot read the file");
    }

    [Fact]
    public async Task Start_WithoutPath_FailsOptionsValidation()
    {
        await using var app = TestGateway.Build(directory, new Dictionary<string, string?> { ["TrustFramework:Path"] = null });

        var failure = await app.Invoking(a => a.StartOnFreePortAsync()).Should().ThrowAsync<OptionsValidationException>();

        failure.Which.Failures.Should().Contain(f => f.Contains("TrustFramework:Path is required", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Main_WithInvalidFramework_PrintsErrorsToStandardErrorAndExitsWithOne()
    {
        var path = Write("bad.yaml", TrustFrameworkFiles.ValidProduction().ReplaceOnce("scope: all", "scope: york"));
        var originalError = Console.Error;
        using var captured = new StringWriter();
        Console.SetError(captured);
        int exitCode;
        try
        {
            // Everything else is in order, so that the framework is the only thing wrong.
            var settings = EligibilityGateway.Sandbox.SandboxHost.GatewaySettings(path, directory, new Uri("http://127.0.0.1:9"), redis: null);
            exitCode = await Program.Main([.. settings.Where(s => s.Value is not null).Select(s => $"--{s.Key}={s.Value}"), "--urls=http://127.0.0.1:0"]);
        }
        finally
        {
            Console.SetError(originalError);
        }

        exitCode.Should().Be(1);
        captured.ToString().Should().Contain($"auditors[0].scope: unknown council 'york'").And.Contain(path + ":");
    }

    [Fact]
    public async Task Reload_WhenFileTurnsBadThenGood_KeepsLastGoodCountsFailureThenReplaces()
    {
        var good = TrustFrameworkFiles.ValidProduction();
        var path = Write("framework.yaml", good);
        var clock = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var app = BuildGateway(path, clock);
        using var counters = new ReloadCounters(app.Services.GetRequiredService<IMeterFactory>());
        var baseAddress = await app.StartOnFreePortAsync();
        var monitor = app.Services.GetRequiredService<TrustFrameworkMonitor>();
        var engine = app.Services.GetRequiredService<PolicyEngine>();
        monitor.Current.Definition.Version.Should().Be("1.0.0");
        var reloaded = monitor.GetReloadToken();

        File.WriteAllText(path, good.ReplaceOnce("version: 1.0.0", "version: 1.1.0").ReplaceOnce("- council: camden", "- council: york"));
        PollTwice(clock);
        counters.Failures.Should().Be(1);

        monitor.Current.Definition.Version.Should().Be("1.0.0");
        engine.Decide("camden", "council-tax-support", "consent").IsAllowed.Should().BeTrue();
        reloaded.HasChanged.Should().BeFalse();
        for (var poll = 0; poll < 10; poll++)
        {
            clock.Advance(PollInterval);
        }

        counters.Failures.Should().Be(1, "an unchanged bad file is reported once, not on every poll");
        using (var client = new HttpClient { BaseAddress = baseAddress })
        {
            (await client.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode.Should().Be(HttpStatusCode.OK);
        }

        File.WriteAllText(path, good.ReplaceOnce("version: 1.0.0", "version: 2.0.0").ReplaceOnce("  - council: camden\n", "  - council: leeds\n"));
        PollTwice(clock);

        monitor.Current.Definition.Version.Should().Be("2.0.0");
        counters.Reloads.Should().Be(1);
        counters.Failures.Should().Be(1);
        reloaded.HasChanged.Should().BeTrue();
        engine.Decide("camden", "council-tax-support", "consent").Rule.Should().Be(PolicyRules.NoPermission);
        engine.Decide("leeds", "council-tax-support", "consent").Rule.Should().Be("permission:leeds/council-tax-support/consent");
    }

    [Fact]
    public async Task Reload_WhenConfigMapSwapsItsDataSymlink_PutsTheNewFileInForce()
    {
        // The layout kubelet gives a mounted ConfigMap: the file is a link through "..data", which is itself a
        // link to a timestamped directory; an update writes a new directory and renames a new "..data" over the old.
        var good = TrustFrameworkFiles.ValidProduction();
        var first = Directory.CreateDirectory(Path.Combine(directory, "..2026_11_22_10_00_00.1")).FullName;
        File.WriteAllText(Path.Combine(first, "trust-framework.yaml"), good);
        Directory.CreateSymbolicLink(Path.Combine(directory, "..data"), first);
        var path = Path.Combine(directory, "trust-framework.yaml");
        File.CreateSymbolicLink(path, Path.Combine("..data", "trust-framework.yaml"));
        var clock = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var app = BuildGateway(path, clock);
        await app.StartOnFreePortAsync();
        var monitor = app.Services.GetRequiredService<TrustFrameworkMonitor>();

        var second = Directory.CreateDirectory(Path.Combine(directory, "..2026_11_22_10_05_00.2")).FullName;
        File.WriteAllText(Path.Combine(second, "trust-framework.yaml"), good.ReplaceOnce("version: 1.0.0", "version: 1.0.1"));
        Directory.CreateSymbolicLink(Path.Combine(directory, "..data_tmp"), second);
        RenameOver(Path.Combine(directory, "..data_tmp"), Path.Combine(directory, "..data"));
        Directory.Delete(first, recursive: true);
        PollTwice(clock);

        monitor.Current.Definition.Version.Should().Be("1.0.1");
    }

    [Fact]
    public void Monitor_WithRelativePath_ResolvesAgainstContentRootAndReportsThePathAsConfigured()
    {
        using var provider = PolicyEngineTests.NewServices("trust-frameworks/sandbox.yaml");
        var monitor = provider.GetRequiredService<TrustFrameworkMonitor>();

        monitor.FullPath.Should().Be(TrustFrameworkFiles.SandboxPath);
        monitor.LoadInitial();
        monitor.Current.Source.Should().Be("trust-frameworks/sandbox.yaml");
    }

    [Fact]
    public async Task HealthCheck_BeforeLoad_IsUnhealthy_AndAfterLoad_NamesIdAndVersion()
    {
        using var provider = PolicyEngineTests.NewServices(TrustFrameworkFiles.SandboxPath);
        var check = new TrustFrameworkHealthCheck(provider.GetRequiredService<TrustFrameworkMonitor>());

        (await check.CheckHealthAsync(new HealthCheckContext())).Status.Should().Be(HealthStatus.Unhealthy);
        provider.GetRequiredService<TrustFrameworkMonitor>().LoadInitial();
        var healthy = await check.CheckHealthAsync(new HealthCheckContext());

        healthy.Status.Should().Be(HealthStatus.Healthy);
        healthy.Description.Should().Be("Trust framework eligibility-gateway-sandbox version 2026.11.0 is loaded.");
    }

    /// <summary>The default <c>TrustFramework:PollInterval</c>, which the tests' gateways keep.</summary>
    private static readonly TimeSpan PollInterval = new TrustFrameworkOptions().PollInterval;

    /// <param name="clock">The gateway's clock, whose every <see cref="PollInterval"/> looks at the file (the system clock unless given).</param>
    private WebApplication BuildGateway(string path, TimeProvider? clock = null) =>
        TestGateway.Build(directory, new Dictionary<string, string?> { ["TrustFramework:Path"] = path }, b =>
        {
            if (clock is not null)
            {
                b.Services.AddSingleton(clock);
            }
        });

    /// <summary>
    /// Two polls: a change is acted on once two polls in a row read the same bytes. Each poll runs on the thread that moves
    /// the clock, so it has finished when this returns.
    /// </summary>
    private static void PollTwice(FakeTimeProvider clock)
    {
        clock.Advance(PollInterval);
        clock.Advance(PollInterval);
    }

    private string Write(string name, string content)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>rename(2) of a symlink over another, as kubelet does; .NET has no API that renames a link to a directory.</summary>
    private static void RenameOver(string source, string destination)
    {
        using var process = System.Diagnostics.Process.Start("mv", ["-T", source, destination]);
        process.WaitForExit();
        process.ExitCode.Should().Be(0);
    }

    /// <summary>Listens to the reload counters of one gateway instance only (its own meter factory).</summary>
    private sealed class ReloadCounters : IDisposable
    {
        private readonly MeterListener listener = new();
        private long reloads;
        private long failures;

        public ReloadCounters(IMeterFactory factory)
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == factory && instrument.Meter.Name == EligibilityGateway.Telemetry.GatewayTelemetry.MeterName
                    && instrument.Name is TrustFrameworkMetrics.ReloadsName or TrustFrameworkMetrics.ReloadFailuresName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
            {
                if (instrument.Name == TrustFrameworkMetrics.ReloadsName)
                {
                    Interlocked.Add(ref reloads, value);
                }
                else
                {
                    Interlocked.Add(ref failures, value);
                }
            });
            listener.Start();
        }

        public long Reloads => Interlocked.Read(ref reloads);

        public long Failures => Interlocked.Read(ref failures);

        public void Dispose() => listener.Dispose();
    }
}
