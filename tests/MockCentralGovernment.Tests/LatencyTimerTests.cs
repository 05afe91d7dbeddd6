using System.Diagnostics;
using MockCentralGovernment.Faults;

namespace MockCentralGovernment.Tests;

/// <summary>The latency timer never ends a wait before its due time, wakes for a new earliest one, and cancels.</summary>
public sealed class LatencyTimerTests
{
    [Fact]
    public async Task Waits_EndAtOrAfterTheirDueTime_NeverBefore()
    {
        using var timer = new LatencyTimer();
        var delays = Enumerable.Range(0, 200).Select(i => TimeSpan.FromMilliseconds(1 + (i * 7 % 30))).ToList();

        var overshoots = await Task.WhenAll(delays.Select(async delay =>
        {
            var started = Stopwatch.GetTimestamp();
            await timer.DelayAsync(delay, CancellationToken.None);
            return Stopwatch.GetElapsedTime(started) - delay;
        }));

        // How close to the due time depends on how busy the machine is; the benchmark reports it (meanCallMilliseconds).
        overshoots.Should().OnlyContain(o => o >= TimeSpan.Zero, "an answer never comes before the set latency");
    }

    [Fact]
    public async Task AnEarlierWait_AddedAfterALaterOne_IsNotHeldUpByIt()
    {
        using var timer = new LatencyTimer();
        using var cancel = new CancellationTokenSource();
        var later = timer.DelayAsync(TimeSpan.FromSeconds(30), cancel.Token);

        var started = Stopwatch.GetTimestamp();
        await timer.DelayAsync(TimeSpan.FromMilliseconds(20), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Stopwatch.GetElapsedTime(started).Should().BeLessThan(TimeSpan.FromSeconds(5));

        later.IsCompleted.Should().BeFalse();
        await cancel.CancelAsync();
        await FluentActions.Awaiting(() => later).Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task AWait_EndsWhenCancelled_LongBeforeItsDueTime()
    {
        using var timer = new LatencyTimer();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        var started = Stopwatch.GetTimestamp();

        await FluentActions.Awaiting(() => timer.DelayAsync(TimeSpan.FromSeconds(30), cancel.Token)).Should().ThrowAsync<OperationCanceledException>();
        Stopwatch.GetElapsedTime(started).Should().BeLessThan(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Disposal_CancelsTheWaitsLeft_AndRefusesNewOnes()
    {
        var timer = new LatencyTimer();
        var waiting = timer.DelayAsync(TimeSpan.FromSeconds(30), CancellationToken.None);

        timer.Dispose();

        await FluentActions.Awaiting(() => waiting).Should().ThrowAsync<OperationCanceledException>();
        await FluentActions.Awaiting(() => timer.DelayAsync(TimeSpan.FromMilliseconds(1), CancellationToken.None)).Should().ThrowAsync<ObjectDisposedException>();
    }
}
