using System.Diagnostics.Metrics;
using EligibilityGateway.Checks;
using EligibilityGateway.Telemetry;
using EligibilityGateway.Tests.Providers;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace EligibilityGateway.Tests.Telemetry;

/// <summary>The breaker-state gauge follows a provider's circuit as the mock's outage opens it and its end closes it.</summary>
public sealed class CircuitStateMetricTests
{
    [Fact]
    public async Task CircuitStateGauge_ReportsOpenDuringAnOutage_AndClosedAfterRecovery()
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
        env.Gateway.Services.GetRequiredService<GatewayMetrics>();
        var factory = env.Gateway.Services.GetRequiredService<IMeterFactory>();

        Observe(factory).Should().Contain(("dwp", "closed", 1)).And.Contain(("dwp", "open", 0)).And.Contain(("hmrc", "closed", 1));

        await env.SetFaultsAsync("dwp", new { outage = true });
        for (var i = 0; i < 5 && !Observe(factory).Contains(("dwp", "open", 1)); i++)
        {
            var evaluation = env.EvaluateAsync("free-school-meals", Fixtures.Smith);
            await ProviderResilienceTests.AdvanceUntilAsync(clock, () => evaluation.IsCompleted);
            (await evaluation).Outcome.Should().Be(Outcome.Undetermined);
        }

        var open = Observe(factory);
        open.Should().Contain(("dwp", "open", 1)).And.Contain(("dwp", "closed", 0));
        open.Should().Contain(("hmrc", "closed", 1), "only DWP is down");
        open.Where(m => m.Provider == "dwp").Sum(m => m.Value).Should().Be(1, "a circuit is in exactly one state");

        await env.ResetFaultsAsync("dwp");
        clock.Advance(TimeSpan.FromSeconds(2));
        (await env.EvaluateAsync("free-school-meals", Fixtures.Smith)).Outcome.Should().Be(Outcome.Eligible, "the break is over and the trial call succeeds");

        Observe(factory).Should().Contain(("dwp", "closed", 1)).And.Contain(("dwp", "open", 0));
    }

    private static List<(string Provider, string State, int Value)> Observe(IMeterFactory factory)
    {
        var measurements = new List<(string, string, int)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Name == GatewayMetrics.CircuitStateName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<int>((_, value, tags, _) =>
        {
            var all = tags.ToArray();
            measurements.Add(((string)all.Single(t => t.Key == "provider").Value!, (string)all.Single(t => t.Key == "state").Value!, value));
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return measurements;
    }
}
