using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using EligibilityGateway.Tests.EndToEnd;
using Xunit.Abstractions;

namespace EligibilityGateway.Tests.Caching;

/// <summary>
/// Runs the Redis-killed-under-load test alone: it keeps both cores busy for several seconds, which would stretch
/// the timings other test classes measure beside it (the cache's 250 ms operation timeout, for one).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RedisKilledUnderLoadCollection
{
    public const string Name = "Redis killed under load, alone";
}

/// <summary>
/// The cache fails open and recovers by itself (Caching/README.md, "Failure"), proven under load through the whole
/// sandbox: concurrent checks over HTTP keep running while the real <c>redis-server</c> is killed and started again.
/// </summary>
[Collection(RedisKilledUnderLoadCollection.Name)]
public sealed class RedisKilledUnderLoadTests(SandboxFixture sandbox, ITestOutputHelper output) : IClassFixture<SandboxFixture>
{
    private const int Workers = 8;

    private static readonly (string Subject, string Outcome)[] People =
    [
        (Subjects.Smith, "eligible"),
        (Subjects.Jones, "not-eligible"),
        (Subjects.Taylor, "eligible"),
        (Subjects.Brown, "not-found"),
        (Subjects.Khan, "eligible"),
    ];

    [Fact]
    public async Task Checks_WhileRedisIsKilledUnderLoad_AllAnswer_AndCacheHitsResumeWithinTenSecondsOfItsReturn()
    {
        await WaitForReadinessAsync("Healthy");
        var token = await sandbox.TokenAsync();
        var clock = Stopwatch.StartNew();
        var answers = new ConcurrentQueue<Answer>();
        var failures = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var sent = 0;

        var load = Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref sent);
                var (subject, outcome) = People[n % People.Length];
                var started = clock.Elapsed;
                using var response = await sandbox.PostCheckAsync(token, Subjects.Check(subject, caseReference: $"REDIS-KILLED-{n}"));
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Enqueue($"{(int)response.StatusCode} {body}");
                    continue;
                }

                using var json = JsonDocument.Parse(body);
                var answered = json.RootElement.GetProperty("outcome").GetString();
                if (answered != outcome)
                {
                    failures.Enqueue($"outcome {answered}, expected {outcome}");
                }

                answers.Enqueue(new Answer(started, clock.Elapsed, json.RootElement.GetProperty("servedFrom").GetString()!));
            }
        })).ToArray();

        try
        {
            await WaitUntilAsync(() => answers.Count(a => a.ServedFrom == "cache") >= 50, TimeSpan.FromSeconds(15));
            await sandbox.Redis.StopAsync();
            var killedAt = clock.Elapsed;
            await Task.Delay(TimeSpan.FromSeconds(3));
            await sandbox.Redis.StartAsync();
            var restartedAt = clock.Elapsed;
            await WaitUntilAsync(() => answers.Any(a => a.Started > restartedAt && a.ServedFrom == "cache"), TimeSpan.FromSeconds(12));
            await stop.CancelAsync();
            await Task.WhenAll(load);

            failures.Should().BeEmpty("no check fails because Redis went away");
            var duringOutage = answers.Where(a => a.Started > killedAt && a.Finished < restartedAt).ToList();
            duringOutage.Should().HaveCountGreaterThan(20, "checks ran all through the outage");
            duringOutage.Should().OnlyContain(a => a.ServedFrom == "live", "an empty Redis that is down serves nothing");
            var firstHit = answers.Where(a => a.Started > restartedAt && a.ServedFrom == "cache").Min(a => a.Finished);
            output.WriteLine($"{answers.Count} checks, {duringOutage.Count} during the {(restartedAt - killedAt).TotalSeconds:F1} s outage; first hit {(firstHit - restartedAt).TotalSeconds:F2} s after Redis returned");
            (firstHit - restartedAt).Should().BeLessThan(TimeSpan.FromSeconds(10), "cache hits resume within 10 s of Redis returning");
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(load);
            if (!sandbox.Redis.IsRunning)
            {
                await sandbox.Redis.StartAsync();
            }
        }
    }

    private async Task WaitForReadinessAsync(string expected)
    {
        await WaitUntilAsync(
            async () =>
            {
                using var response = await sandbox.Http.GetAsync(sandbox.Gateway("/health/ready"));
                return await response.Content.ReadAsStringAsync() == expected;
            },
            TimeSpan.FromSeconds(10));
    }

    private static Task WaitUntilAsync(Func<bool> condition, TimeSpan within) =>
        WaitUntilAsync(() => Task.FromResult(condition()), within);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan within)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > within)
            {
                throw new TimeoutException($"Not true within {within}.");
            }

            await Task.Delay(20);
        }
    }

    private sealed record Answer(TimeSpan Started, TimeSpan Finished, string ServedFrom);
}
