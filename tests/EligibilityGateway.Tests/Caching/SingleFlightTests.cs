using EligibilityGateway.Caching;

namespace EligibilityGateway.Tests.Caching;

public sealed class SingleFlightTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task RunAsync_ForTheSameKeyFromManyThreadsAtOnce_RunsTheWorkOnceAndGivesEveryoneItsResult()
    {
        var flight = new SingleFlight<string, int>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        using var start = new Barrier(32);

        // Dedicated threads released together by a barrier: real simultaneous arrivals, without tying up the pool.
        var callers = new Task<int>[32];
        var threads = Enumerable.Range(0, callers.Length).Select(i => new Thread(() =>
        {
            start.SignalAndWait(Patience);
            callers[i] = flight.RunAsync("smith", async _ =>
            {
                Interlocked.Increment(ref runs);
                await release.Task;
                return 42;
            });
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join(Patience).Should().BeTrue());
        await WaitUntilAsync(() => flight.InFlight == 1 && Volatile.Read(ref runs) == 1);
        await Task.Delay(50);
        release.SetResult();
        var results = await Task.WhenAll(callers).WaitAsync(Patience);

        results.Should().AllSatisfy(r => r.Should().Be(42));
        runs.Should().Be(1);
        flight.InFlight.Should().Be(0);
    }

    [Fact]
    public async Task RunAsync_ForDifferentKeys_RunsEachOnItsOwn()
    {
        var flight = new SingleFlight<string, string>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;

        var smith = flight.RunAsync("smith", async _ => { Interlocked.Increment(ref runs); await release.Task; return "smith"; });
        var jones = flight.RunAsync("jones", async _ => { Interlocked.Increment(ref runs); await release.Task; return "jones"; });
        await WaitUntilAsync(() => Volatile.Read(ref runs) == 2);
        release.SetResult();

        (await smith).Should().Be("smith");
        (await jones).Should().Be("jones");
    }

    [Fact]
    public async Task RunAsync_WhenTheSharedWorkFails_GivesEveryWaiterTheFailureButDoesNotKeepIt()
    {
        var flight = new SingleFlight<string, int>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        Func<CancellationToken, Task<int>> failing = async _ =>
        {
            Interlocked.Increment(ref runs);
            await release.Task;
            throw new HttpRequestException("provider down");
        };

        var first = flight.RunAsync("smith", failing);
        var second = flight.RunAsync("smith", failing);
        await WaitUntilAsync(() => Volatile.Read(ref runs) == 1);
        release.SetResult();

        await first.Invoking(t => t).Should().ThrowAsync<HttpRequestException>().WithMessage("provider down");
        await second.Invoking(t => t).Should().ThrowAsync<HttpRequestException>().WithMessage("provider down");
        runs.Should().Be(1);

        var retried = await flight.RunAsync("smith", _ => Task.FromResult(7));
        retried.Should().Be(7, "a failure is shared while it happens, never remembered");
    }

    [Fact]
    public async Task RunAsync_WhenTheWorkThrowsBeforeItsFirstAwait_FailsTheCallerAndLeavesNothingBehind()
    {
        var flight = new SingleFlight<string, int>();

        var run = () => flight.RunAsync("smith", _ => throw new InvalidOperationException("synchronous"));

        await run.Should().ThrowAsync<InvalidOperationException>();
        flight.InFlight.Should().Be(0);
    }

    [Fact]
    public async Task RunAsync_AfterTheWorkHasFinished_RunsItAgain()
    {
        var flight = new SingleFlight<string, int>();
        var runs = 0;

        await flight.RunAsync("smith", _ => Task.FromResult(Interlocked.Increment(ref runs)));
        var second = await flight.RunAsync("smith", _ => Task.FromResult(Interlocked.Increment(ref runs)));

        second.Should().Be(2);
    }

    [Fact]
    public async Task RunAsync_WhenOneWaiterCancels_LetsTheWorkFinishForTheOthers()
    {
        var flight = new SingleFlight<string, int>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var workToken = new TaskCompletionSource<CancellationToken>();
        using var impatient = new CancellationTokenSource();

        var first = flight.RunAsync("smith", async token =>
        {
            workToken.SetResult(token);
            await release.Task.WaitAsync(token);
            return 1;
        }, impatient.Token);
        var second = flight.RunAsync("smith", _ => Task.FromResult(2));
        var token = await workToken.Task.WaitAsync(Patience);

        await impatient.CancelAsync();
        await first.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();
        token.IsCancellationRequested.Should().BeFalse();
        release.SetResult();

        (await second.WaitAsync(Patience)).Should().Be(1, "the second caller joined the first caller's work");
    }

    [Fact]
    public async Task RunAsync_WhenEveryWaiterCancels_CancelsTheWorkAndTheNextCallStartsAfresh()
    {
        var flight = new SingleFlight<string, int>();
        var workCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var firstCaller = new CancellationTokenSource();
        using var secondCaller = new CancellationTokenSource();
        Func<CancellationToken, Task<int>> slow = async token =>
        {
            started.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, token);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                workCancelled.TrySetResult();
                throw;
            }

            return 1;
        };

        var first = flight.RunAsync("smith", slow, firstCaller.Token);
        var second = flight.RunAsync("smith", slow, secondCaller.Token);
        await started.Task.WaitAsync(Patience);
        await firstCaller.CancelAsync();
        await first.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();
        workCancelled.Task.IsCompleted.Should().BeFalse("one caller is still waiting");
        await secondCaller.CancelAsync();
        await second.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();

        await workCancelled.Task.WaitAsync(Patience);
        (await flight.RunAsync("smith", _ => Task.FromResult(3)).WaitAsync(Patience)).Should().Be(3);
    }

    [Fact]
    public async Task RunAsync_UnderContentionOnFewKeys_NeverRunsTwoWorksForOneKeyAtTheSameTime()
    {
        var flight = new SingleFlight<int, int>();
        var running = new int[4];
        var overlaps = 0;
        var runs = 0;

        await Parallel.ForEachAsync(Enumerable.Range(0, 4_000), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var key = i % 4;
            var result = await flight.RunAsync(key, async _ =>
            {
                Interlocked.Increment(ref runs);
                if (Interlocked.Increment(ref running[key]) > 1)
                {
                    Interlocked.Increment(ref overlaps);
                }

                await Task.Delay(1);
                Interlocked.Decrement(ref running[key]);
                return key * 10;
            });
            result.Should().Be(key * 10);
        });

        overlaps.Should().Be(0);
        runs.Should().BeLessThan(4_000, "concurrent callers of a key shared runs");
        flight.InFlight.Should().Be(0);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = TimeProvider.System.GetTimestamp() + (10 * TimeProvider.System.TimestampFrequency);
        while (!condition())
        {
            TimeProvider.System.GetTimestamp().Should().BeLessThan(deadline, "the condition should hold within 10 seconds");
            await Task.Delay(5);
        }
    }
}
