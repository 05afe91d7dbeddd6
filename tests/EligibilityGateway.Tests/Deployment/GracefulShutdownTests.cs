using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Audit;
using EligibilityGateway.Sandbox;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.EndToEnd;
using EligibilityGateway.Tests.Infrastructure;
using EligibilityGateway.Tests.TrustFramework;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Abstractions;
using MockCentralGovernment;
using Xunit.Abstractions;

namespace EligibilityGateway.Tests.Deployment;

/// <summary>
/// A real gateway process stopped as Kubernetes stops a pod (SIGTERM) while checks are in flight: readiness turns
/// false first and the server still answers through <c>Shutdown:ReadinessDelay</c>; then it refuses new connections,
/// answers every check it had, the audit log commits their records and signs the head, and the process exits 0 within
/// the host's shutdown timeout.
/// </summary>
public sealed class GracefulShutdownTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int ShutdownTimeoutSeconds = 12;
    private static readonly TimeSpan ReadinessDelay = TimeSpan.FromSeconds(1);

    /// <summary>How long each department takes to answer: longer than the readiness delay, so checks outlive it.</summary>
    private const int ProviderLatencyMilliseconds = 3500;

    private readonly string directory = Directory.CreateTempSubdirectory("egw-shutdown-").FullName;
    private WebApplication mock = null!;
    private Uri mockAddress = null!;

    public async Task InitializeAsync()
    {
        mock = MockGovernmentApplication.Build([], b => b.Configuration["MockCentralGovernment:Population:Size"] = "0");
        mockAddress = await mock.StartOnFreePortAsync();
    }

    public async Task DisposeAsync()
    {
        await mock.StopAsync();
        await mock.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task Sigterm_WhileChecksAreInFlight_ReadinessFallsFirst_EveryCheckIsAnsweredAndRecorded_AndTheProcessExitsZeroInTime()
    {
        await using var gateway = await StartGatewayAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        (await ReadinessAsync(gateway.Address)).Should().Be(HttpStatusCode.OK, gateway.Output);
        var token = await SandboxClients.TokenAsync(http, gateway.Address);
        await SlowDepartmentsAsync();

        string[] people = [Subjects.Smith, Subjects.Jones, Subjects.Taylor, Subjects.Brown, Subjects.Khan];
        var checks = Enumerable.Range(0, 10).Select(n => CheckAsync(http, gateway.Address, token, people[n % people.Length], $"DRAIN-{n}")).ToArray();
        await WaitForProviderCallsAsync(5);

        var clock = Stopwatch.StartNew();
        var exit = gateway.TerminateAsync(TimeSpan.FromSeconds(ShutdownTimeoutSeconds + 10));

        // Readiness first: 503 while the server still answers (the load balancer's moment to notice).
        await PollAsync(async () => await ReadinessAsync(gateway.Address) == HttpStatusCode.ServiceUnavailable, "readiness reports 503");
        var notReadyAt = clock.Elapsed;
        checks.Should().OnlyContain(c => !c.IsCompleted, "readiness falls before any check in flight is answered");

        // Then the listeners close: a new connection is refused while the checks in flight are still being answered.
        await PollAsync(async () => await ReadinessAsync(gateway.Address) is null, "new connections are refused");
        var refusedAt = clock.Elapsed;
        var stillInFlight = checks.Count(c => !c.IsCompleted);
        refusedAt.Should().BeGreaterThanOrEqualTo(ReadinessDelay, "the server keeps answering through the readiness delay");

        var answers = await Task.WhenAll(checks);
        var exitCode = await exit;
        var stoppedIn = clock.Elapsed;
        output.WriteLine($"503 after {notReadyAt.TotalMilliseconds:F0} ms, connections refused after {refusedAt.TotalMilliseconds:F0} ms with {stillInFlight} of {checks.Length} checks in flight, exit {exitCode} after {stoppedIn.TotalMilliseconds:F0} ms");

        stillInFlight.Should().BeGreaterThan(0, "the departments answer after the readiness delay, so checks were in flight when the server closed");
        answers.Should().OnlyContain(a => a.Status == HttpStatusCode.OK, "every check in flight is answered");
        exitCode.Should().Be(0, gateway.Output);
        stoppedIn.Should().BeLessThan(TimeSpan.FromSeconds(ShutdownTimeoutSeconds), "the stop ends within the host's shutdown timeout");

        // Each answered check has its record, and the shutdown signed the head of the chain.
        await using var store = new SqliteAuditStore(Path.Combine(directory, "storage", "audit.db"), TimeSpan.FromSeconds(5), TimeProvider.System, NullLogger.Instance);
        var records = await store.ReadAsync(1, int.MaxValue, CancellationToken.None);
        var bySequence = records.ToDictionary(r => r.Sequence);
        foreach (var answer in answers)
        {
            bySequence.Should().ContainKey(answer.AuditSequence);
            bySequence[answer.AuditSequence].Entry.CheckId.Should().Be(answer.CheckId);
        }

        var checkpoints = await store.ReadCheckpointsAsync(CancellationToken.None);
        checkpoints.Should().NotBeEmpty();
        checkpoints.Max(c => c.Sequence).Should().Be(records.Max(r => r.Sequence), "the last checkpoint, written on shutdown, covers the last record");
        gateway.Output.Should().Contain("readiness now reports unavailable");
    }

    private async Task<ServiceProcess> StartGatewayAsync()
    {
        // The sandbox framework with attempt and total timeouts long enough for the slowed departments.
        var framework = Path.Combine(directory, "framework.yaml");
        var text = await File.ReadAllTextAsync(TrustFrameworkFiles.SandboxPath);
        await File.WriteAllTextAsync(framework, text.Replace("attempt_timeout: PT2S", "attempt_timeout: PT8S", StringComparison.Ordinal).Replace("total_timeout: PT5S", "total_timeout: PT9S", StringComparison.Ordinal));

        var settings = SandboxHost.GatewaySettings(framework, Path.Combine(directory, "storage"), mockAddress, redis: null);
        settings["Shutdown:ReadinessDelay"] = ReadinessDelay.ToString("c", System.Globalization.CultureInfo.InvariantCulture);
        var environment = settings.ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value);
        environment["DOTNET_SHUTDOWNTIMEOUTSECONDS"] = ShutdownTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return await ServiceProcess.StartAsync("EligibilityGateway.dll", environment);
    }

    private async Task SlowDepartmentsAsync()
    {
        using var control = new HttpClient { BaseAddress = mockAddress };
        foreach (var provider in new[] { "dwp", "hmrc", "home-office" })
        {
            using var response = await control.PutAsJsonAsync(new Uri($"/_control/providers/{provider}", UriKind.Relative), new { latencyMilliseconds = ProviderLatencyMilliseconds });
            response.EnsureSuccessStatusCode();
        }
    }

    /// <summary>Waits until the mock has seen <paramref name="count"/> calls: the checks are then inside the gateway, waiting for departments.</summary>
    private async Task WaitForProviderCallsAsync(int count)
    {
        using var control = new HttpClient { BaseAddress = mockAddress };
        await PollAsync(async () =>
        {
            using var response = await control.GetAsync(new Uri("/_control/calls", UriKind.Relative));
            using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return document.RootElement.GetProperty("calls").GetArrayLength() >= count;
        }, $"{count} calls reach the departments");
    }

    private static async Task PollAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(20))
            {
                throw new TimeoutException($"Not within 20 s: {what}.");
            }

            await Task.Delay(25);
        }
    }

    /// <summary><c>GET /health/ready</c> on a new connection; null when the connection is refused.</summary>
    private static async Task<HttpStatusCode?> ReadinessAsync(Uri address)
    {
        using var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero };
        using var fresh = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await fresh.GetAsync(new Uri(address, "/health/ready"));
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private static async Task<Answer> CheckAsync(HttpClient http, Uri address, string token, string subject, string caseReference)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, "/v1/checks"))
        {
            Content = new StringContent(Subjects.Check(subject, caseReference: caseReference), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return new Answer(response.StatusCode, body, 0);
        }

        var json = JsonDocument.Parse(body).RootElement;
        return new Answer(response.StatusCode, json.GetProperty("checkId").GetString()!, json.GetProperty("auditSequence").GetInt64());
    }

    private sealed record Answer(HttpStatusCode Status, string CheckId, long AuditSequence);
}
