using System.Diagnostics;
using EligibilityGateway.Checks;
using EligibilityGateway.Providers;
using Microsoft.Extensions.Logging;
using Polly.CircuitBreaker;

namespace EligibilityGateway.Tests.Providers;

/// <summary>
/// Provider resilience against the real mock's fault injection: each test starts its own mock and gateway so that
/// faults and circuit state never leak between tests.
/// </summary>
public sealed class ProviderResilienceTests
{
    private const int RetryingEventId = 1300;
    private const int PipelineBuiltEventId = 1304;

    [Fact]
    public async Task Evaluate_WhenAProviderDoesNotKnowThePerson_LogsNothingBelowWarningFromPolly()
    {
        // Brown is known to no department: every provider answers 404, an answer, not a fault.
        await using var env = await ProviderTestEnvironment.StartAsync();

        var answer = await env.EvaluateAsync("free-school-meals", Fixtures.Brown);

        answer.Outcome.Should().Be(Outcome.NotFound);
        env.GatewayLogs.WithEventId(PipelineBuiltEventId).Should().NotBeEmpty("the gateway's logs are captured");
        env.GatewayLogs.Entries.Where(e => e.Category.StartsWith("Polly", StringComparison.Ordinal))
            .Should().NotContain(e => e.Level < LogLevel.Warning, "a 404 per provider call would be two log lines per check");
    }

    [Fact]
    public async Task Evaluate_WithWrongCredential_FailsWithoutRetrying()
    {
        // Another provider's credential: the mock answers 401 invalid_token.
        await using var env = await ProviderTestEnvironment.StartAsync(new Dictionary<string, string?>
        {
            ["Providers:dwp:Credential"] = ProviderTestEnvironment.HmrcCredential,
        });

        var answer = await env.EvaluateAsync("free-school-meals", Fixtures.Smith);

        answer.Outcome.Should().Be(Outcome.Undetermined);
        var dwp = answer.Calls.Single(c => c.ProviderId == "dwp");
        dwp.Status.Should().Be(ProviderCallStatus.Failed);
        dwp.FailureReason.Should().Be("credential refused (HTTP 401)");
        env.GatewayLogs.WithEventId(RetryingEventId).Should().BeEmpty("a 401 is an answer, not a transient failure");
    }

    [Fact]
    public async Task Evaluate_WhenProviderHoldsTheRequest_FailsWithTimeoutWithinTheTotalTimeout()
    {
        await using var env = await ProviderTestEnvironment.StartAsync(editFramework: yaml => yaml
            .Replace("attempt_timeout: PT2S", "attempt_timeout: PT0.3S", StringComparison.Ordinal)
            .Replace("total_timeout: PT5S", "total_timeout: PT1S", StringComparison.Ordinal));

        // One answered call first: on a loaded machine the first call's start-up (compiling the pipeline and the client)
        // can use up the 0.7 s between the attempt and total timeouts, and then no attempt is left to retry.
        (await env.EvaluateAsync("free-school-meals", Fixtures.Smith)).Outcome.Should().Be(Outcome.Eligible);
        await env.SetFaultsAsync("dwp", new { timeoutRate = 1.0, timeoutHoldMilliseconds = 30_000 });

        var stopwatch = Stopwatch.StartNew();
        var answer = await env.EvaluateAsync("free-school-meals", Fixtures.Smith);
        stopwatch.Stop();

        answer.Outcome.Should().Be(Outcome.Undetermined, "a provider timeout is never a no");
        var dwp = answer.Calls.Single(c => c.ProviderId == "dwp");
        dwp.Should().Match<ProviderCall>(c => c.Status == ProviderCallStatus.Failed && c.FailureReason == ProviderFailureReasons.Timeout);
        dwp.Latency.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(0.9)).And.BeLessThan(TimeSpan.FromSeconds(1.8));
        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2), "the total timeout of one second bounds the call, not the mock's 30 s hold");
        env.GatewayLogs.WithEventId(RetryingEventId).Should().NotBeEmpty("a timed-out attempt is retried while the total timeout allows");
    }

    [Fact]
    public async Task Evaluate_DuringOutage_FailsThenOpensTheCircuitThenRecovers()
    {
        var clock = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var env = await ProviderTestEnvironment.StartAsync(
            new Dictionary<string, string?>
            {
                ["ProviderResilience:BreakerMinimumThroughput"] = "4",
                ["ProviderResilience:BreakerSamplingDuration"] = "00:00:10",
                ["ProviderResilience:BreakerBreakDuration"] = "00:00:02",
            },
            clock: clock);
        await env.SetFaultsAsync("dwp", new { outage = true });

        // Each evaluation makes up to three attempts (two retries, the clock moved through their back-off); the fourth
        // failed attempt opens the circuit.
        for (var i = 0; i < 5 && env.Circuits.GetStates()["dwp"] != CircuitState.Open; i++)
        {
            var evaluation = env.EvaluateAsync("free-school-meals", Fixtures.Smith);
            await AdvanceUntilAsync(clock, () => evaluation.IsCompleted);
            var during = await evaluation;
            during.Outcome.Should().Be(Outcome.Undetermined);
            during.Calls.Single(c => c.ProviderId == "dwp").Status.Should().Be(ProviderCallStatus.Failed);
        }

        env.Circuits.GetStates()["dwp"].Should().Be(CircuitState.Open);
        var outagesSeenByMock = OutagesAnswered(env);
        outagesSeenByMock.Should().BeGreaterThanOrEqualTo(4);

        var stopwatch = Stopwatch.StartNew();
        var open = await env.EvaluateAsync("free-school-meals", Fixtures.Smith);
        stopwatch.Stop();

        open.Calls.Single(c => c.ProviderId == "dwp").FailureReason.Should().Be(ProviderFailureReasons.CircuitOpen);
        open.Outcome.Should().Be(Outcome.Undetermined);
        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromMilliseconds(500), "an open circuit fails at once");
        OutagesAnswered(env).Should().Be(outagesSeenByMock, "no request reached the provider while the circuit was open");

        await env.ResetFaultsAsync("dwp");
        (await env.EvaluateAsync("free-school-meals", Fixtures.Smith)).Calls.Single(c => c.ProviderId == "dwp").FailureReason
            .Should().Be(ProviderFailureReasons.CircuitOpen, "the circuit stays open for its break duration, whatever the provider does meanwhile");
        clock.Advance(TimeSpan.FromSeconds(2));
        var recovered = await env.EvaluateAsync("free-school-meals", Fixtures.Smith);

        recovered.Outcome.Should().Be(Outcome.Eligible, "the break is over: a trial call goes through and succeeds");
        env.Circuits.GetStates()["dwp"].Should().Be(CircuitState.Closed);
    }

    [Fact]
    public async Task Evaluate_WhenErrorsStop_RetriesHonouringRetryAfterAndSucceeds()
    {
        var clock = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var env = await ProviderTestEnvironment.StartAsync(
            new Dictionary<string, string?>
            {
                ["ProviderResilience:MaxRetryAttempts"] = "10",
                ["ProviderResilience:RetryBaseDelay"] = "00:00:00.200",
                ["ProviderResilience:RetryMaxDelay"] = "00:00:00.800",
            },
            clock: clock);
        await env.SetFaultsAsync("dwp", new { errorRate = 1.0 });

        // The gateway's clock is moved through each wait it announces; once it has waited out a Retry-After, the errors stop.
        var evaluation = env.EvaluateAsync("free-school-meals", Fixtures.Smith);
        for (var seen = 1; !evaluation.IsCompleted; seen++)
        {
            await AdvanceUntilAsync(clock, () => evaluation.IsCompleted || env.GatewayLogs.WithEventId(RetryingEventId).Count() >= seen);
            if (!evaluation.IsCompleted && env.GatewayLogs.WithEventId(RetryingEventId).ElementAt(seen - 1).Message.Contains("ended with HTTP 503", StringComparison.Ordinal))
            {
                await env.ResetFaultsAsync("dwp");
            }
        }

        var answer = await evaluation;

        answer.Outcome.Should().Be(Outcome.Eligible);
        answer.Calls.Single(c => c.ProviderId == "dwp").Status.Should().Be(ProviderCallStatus.Eligible);
        var retries = env.GatewayLogs.WithEventId(RetryingEventId).Select(e => e.Message).ToList();
        var afterRetryAfter = retries.Where(m => m.Contains("ended with HTTP 503", StringComparison.Ordinal)).ToList();
        afterRetryAfter.Should().NotBeEmpty("the mock answers half its injected errors with 503 and Retry-After: 1");
        afterRetryAfter.Should().OnlyContain(m => m.EndsWith("retrying in 1000 ms", StringComparison.Ordinal));
        retries.Where(m => m.Contains("ended with HTTP 500", StringComparison.Ordinal))
            .Should().NotContain(m => m.EndsWith("retrying in 1000 ms", StringComparison.Ordinal), "a 500 has no Retry-After and backs off by at most 800 ms");
    }

    [Fact]
    public async Task Evaluate_WithErrorRateOne_ExhaustsRetriesAndFails()
    {
        await using var env = await ProviderTestEnvironment.StartAsync(new Dictionary<string, string?>
        {
            ["ProviderResilience:MaxRetryAttempts"] = "2",
        });
        await env.SetFaultsAsync("hmrc", new { errorRate = 1.0 });

        var answer = await env.EvaluateAsync("free-school-meals", Fixtures.Taylor);

        answer.Outcome.Should().Be(Outcome.Undetermined, "Taylor's only qualifying record is at HMRC, which keeps failing");
        answer.Calls.Single(c => c.ProviderId == "hmrc").FailureReason.Should().BeOneOf("HTTP 500", "HTTP 503");
        env.GatewayLogs.WithEventId(RetryingEventId).Should().HaveCount(2).And.OnlyContain(e => e.Message.StartsWith("Provider hmrc ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Evaluate_BeyondMaxConcurrencyWithoutQueue_RejectsTheExcessCalls()
    {
        await using var env = await ProviderTestEnvironment.StartAsync(
            new Dictionary<string, string?> { ["ProviderResilience:QueueLimit"] = "0" },
            yaml => ReplaceFirst(yaml, "max_concurrency: 64", "max_concurrency: 1"));
        await env.SetFaultsAsync("dwp", new { latencyMilliseconds = 500 });

        var answers = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => env.EvaluateAsync("free-school-meals", Fixtures.Smith)));

        var dwp = answers.Select(a => a.Calls.Single(c => c.ProviderId == "dwp")).ToList();
        dwp.Should().ContainSingle(c => c.Status == ProviderCallStatus.Eligible);
        dwp.Where(c => c.Status != ProviderCallStatus.Eligible).Should().HaveCount(2)
            .And.OnlyContain(c => c.Status == ProviderCallStatus.Failed && c.FailureReason == ProviderFailureReasons.ConcurrencyLimit);
    }

    [Fact]
    public async Task Evaluate_BeyondMaxConcurrencyWithQueue_WaitsForASlotAndSucceeds()
    {
        await using var env = await ProviderTestEnvironment.StartAsync(
            new Dictionary<string, string?> { ["ProviderResilience:QueueLimit"] = "8" },
            yaml => ReplaceFirst(yaml, "max_concurrency: 64", "max_concurrency: 1"));
        await env.SetFaultsAsync("dwp", new { latencyMilliseconds = 200 });

        var stopwatch = Stopwatch.StartNew();
        var answers = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => env.EvaluateAsync("free-school-meals", Fixtures.Smith)));
        stopwatch.Stop();

        answers.Should().OnlyContain(a => a.Outcome == Outcome.Eligible);
        // Three evaluations of two DWP calls each, one at a time: at least six latencies, not two.
        stopwatch.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(1200));
    }

    [Fact]
    public async Task Evaluate_WhenTheProviderCannotBeReached_FailsAsConnectionFailed()
    {
        await using var env = await ProviderTestEnvironment.StartAsync(new Dictionary<string, string?>
        {
            // Port 1 on loopback: nothing listens there, so the connection is refused at once.
            ["Providers:home-office:BaseUrl"] = "http://127.0.0.1:1/home-office",
        });

        var answer = await env.EvaluateAsync("free-school-meals", Fixtures.Khan);

        answer.Outcome.Should().Be(Outcome.Undetermined);
        answer.Calls.Single(c => c.ProviderId == "home-office").FailureReason.Should().Be(ProviderFailureReasons.ConnectionFailed);
    }

    [Fact]
    public async Task Evaluate_WithBaseUrlOnAWrongRoute_FailsRatherThanReportingNotFound()
    {
        // The mock serves HMRC under /hmrc; under /hmrc-v2 its router answers a plain 404 without the no-match type.
        await using var env = await ProviderTestEnvironment.StartAsync(new Dictionary<string, string?>
        {
            ["Providers:hmrc:BaseUrl"] = "{mock}/hmrc-v2",
        });

        var answer = await env.EvaluateAsync("free-school-meals", Fixtures.Brown);

        answer.Calls.Single(c => c.ProviderId == "hmrc").FailureReason.Should().Be("HTTP 404");
        answer.Outcome.Should().Be(Outcome.Undetermined, "a 404 from an unknown route is not the provider's 'no match'");
    }

    [Fact]
    public async Task Reload_ChangingOneProvidersLimits_ResizesItsPipelineAndKeepsTheOthersCircuit()
    {
        await using var env = await ProviderTestEnvironment.StartAsync(new Dictionary<string, string?>
        {
            ["ProviderResilience:QueueLimit"] = "0",
            ["ProviderResilience:BreakerMinimumThroughput"] = "2",
            ["ProviderResilience:BreakerBreakDuration"] = "00:01:00",
        });
        await env.SetFaultsAsync("hmrc", new { outage = true });
        await EventuallyAsync(() => env.EvaluateAsync("free-school-meals", Fixtures.Taylor), _ => env.Circuits.GetStates()["hmrc"] == CircuitState.Open, TimeSpan.FromSeconds(10));
        await env.SetFaultsAsync("dwp", new { latencyMilliseconds = 300 });
        var before = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => env.EvaluateAsync("free-school-meals", Fixtures.Smith)));
        before.Select(a => a.Calls.Single(c => c.ProviderId == "dwp").Status).Should().OnlyContain(s => s == ProviderCallStatus.Eligible, "64 slots hold three calls");

        var yaml = await File.ReadAllTextAsync(env.FrameworkPath);
        await File.WriteAllTextAsync(env.FrameworkPath, ReplaceFirst(yaml, "max_concurrency: 64", "max_concurrency: 1"));
        await EventuallyAsync(
            () => Task.FromResult(env.GatewayLogs.WithEventId(PipelineBuiltEventId).Count(e => e.Message.StartsWith("Resilience pipeline for provider dwp built", StringComparison.Ordinal) && e.Message.EndsWith("max concurrency 1", StringComparison.Ordinal))),
            count => count > 0,
            TimeSpan.FromSeconds(10));
        var after = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => env.EvaluateAsync("free-school-meals", Fixtures.Smith)));

        var dwp = after.Select(a => a.Calls.Single(c => c.ProviderId == "dwp")).ToList();
        dwp.Should().ContainSingle(c => c.Status == ProviderCallStatus.Eligible, "the reload re-sized DWP's limiter to one slot");
        dwp.Where(c => c.Status != ProviderCallStatus.Eligible).Should().HaveCount(2)
            .And.OnlyContain(c => c.FailureReason == ProviderFailureReasons.ConcurrencyLimit);
        env.Circuits.GetStates()["hmrc"].Should().Be(CircuitState.Open, "the reload did not touch HMRC's limits, so its pipeline and circuit stay");
        env.Circuits.GetStates()["dwp"].Should().Be(CircuitState.Closed);
        env.GatewayLogs.WithEventId(PipelineBuiltEventId).Count(e => e.Message.StartsWith("Resilience pipeline for provider hmrc built", StringComparison.Ordinal))
            .Should().Be(1, "HMRC's pipeline was built once, on its first call");
    }

    private static int OutagesAnswered(ProviderTestEnvironment env) =>
        env.MockLogs.Entries.Count(e => e.Message == "Injected outage into a call to dwp");

    private static string ReplaceFirst(string text, string oldValue, string newValue)
    {
        var at = text.IndexOf(oldValue, StringComparison.Ordinal);
        at.Should().BeGreaterThanOrEqualTo(0);
        return string.Concat(text.AsSpan(0, at), newValue, text.AsSpan(at + oldValue.Length));
    }

    /// <summary>
    /// Moves the gateway's clock on ten milliseconds at a time, letting the gateway act between steps, until
    /// <paramref name="done"/> (ten real seconds at most). Small steps, because a retry's wait starts only after its
    /// attempt is logged: the clock never runs far ahead of a call in flight.
    /// </summary>
    internal static async Task AdvanceUntilAsync(FakeTimeProvider clock, Func<bool> done)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!done())
        {
            clock.Advance(TimeSpan.FromMilliseconds(10));
            await Task.Delay(1, deadline.Token);
        }
    }

    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> attempt, Func<T, bool> done, TimeSpan within)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var value = await attempt();
            if (done(value) || stopwatch.Elapsed > within)
            {
                return value;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
    }
}
