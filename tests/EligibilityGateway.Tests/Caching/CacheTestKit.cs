using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics.Metrics;
using EligibilityGateway.Caching;
using EligibilityGateway.Checks;
using EligibilityGateway.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EligibilityGateway.Tests.Caching;

/// <summary>The sandbox fixtures, as the check endpoint hands them to the cache (normalised).</summary>
internal static class Fixtures
{
    public static readonly Subject Smith = new(IdentifierKind.NationalInsuranceNumber, "AB123456C", "Smith", new DateOnly(1990, 1, 1));
    public static readonly Subject Jones = new(IdentifierKind.NationalInsuranceNumber, "CE234567A", "Jones", new DateOnly(1985, 5, 15));
    public static readonly Subject Taylor = new(IdentifierKind.NationalInsuranceNumber, "EH345678B", "Taylor", new DateOnly(1978, 11, 30));
    public static readonly Subject Brown = new(IdentifierKind.NationalInsuranceNumber, "JK456789C", "Brown", new DateOnly(1992, 2, 29));
    public static readonly Subject Khan = new(IdentifierKind.NationalAsylumSeekerServiceNumber, "240712349", "Khan", new DateOnly(1990, 1, 1));

    public static readonly ImmutableArray<Subject> All = [Smith, Jones, Taylor, Brown, Khan];
}

/// <summary>A key ring in its own temporary directory.</summary>
internal sealed class TemporaryKeyRing : IDisposable
{
    private readonly string directory = System.IO.Directory.CreateTempSubdirectory("egw-cache-keys-").FullName;

    public TemporaryKeyRing() => Ring = KeyRing.Load(new KeyRingOptions { Directory = directory, GenerateIfMissing = true });

    public KeyRing Ring { get; }

    public string Directory => directory;

    public void Dispose() => System.IO.Directory.Delete(directory, recursive: true);
}

/// <summary>Log entries captured for assertions.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    public ConcurrentQueue<(EventId EventId, LogLevel Level, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue((eventId, logLevel, formatter(state, exception) + (exception is null ? "" : " " + exception)));
    }
}

/// <summary>Counts measurements of the cache's counters made through one service provider's meter factory.</summary>
internal sealed class CacheCounters : IDisposable
{
    private readonly MeterListener listener = new();
    private readonly ConcurrentDictionary<string, long> totals = new();

    public CacheCounters(IMeterFactory factory)
    {
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Name.StartsWith("eligibility_gateway.cache.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var result = "";
            foreach (var tag in tags)
            {
                if (tag.Key == "result")
                {
                    result = (string)tag.Value!;
                }
            }

            totals.AddOrUpdate($"{instrument.Name}:{result}", value, (_, v) => v + value);
        });
        listener.Start();
    }

    public long Get(string instrument, string result = "") => totals.GetValueOrDefault($"{instrument}:{result}");

    public void Dispose() => listener.Dispose();
}

/// <summary>The cache composed as <c>AddAnswerCache</c> composes it, over the memory store or a Redis.</summary>
internal sealed class CacheUnderTest : IAsyncDisposable
{
    private readonly TemporaryKeyRing? ownedKeys;

    public CacheUnderTest(string? redis = null, TimeProvider? timeProvider = null, KeyRing? keyRing = null, IDictionary<string, string?>? settings = null)
    {
        if (keyRing is null)
        {
            ownedKeys = new TemporaryKeyRing();
            keyRing = ownedKeys.Ring;
        }

        var values = new Dictionary<string, string?> { ["Cache:Redis"] = redis };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection()
            .AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(Logs))
            .AddSingleton(keyRing)
            .AddSingleton(timeProvider ?? TimeProvider.System);
        services.AddAnswerCache(configuration);
        Services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        Counters = new CacheCounters(Services.GetRequiredService<IMeterFactory>());
        KeyRing = keyRing;
    }

    public ServiceProvider Services { get; }

    public KeyRing KeyRing { get; }

    public CapturedLogs Logs { get; } = new();

    public CacheCounters Counters { get; }

    public IAnswerCache Cache => Services.GetRequiredService<IAnswerCache>();

    public CacheKeys Keys => Services.GetRequiredService<CacheKeys>();

    public ICacheStore Store => Services.GetRequiredService<ICacheStore>();

    public CacheKey KeyFor(Subject subject, string council = "leeds", string scheme = "free-school-meals", string? consent = null) =>
        Keys.For(council, scheme, consent, subject);

    /// <summary>Waits until the store reports healthy (Redis connected), as a host that has been up a moment would be.</summary>
    public async Task<CacheUnderTest> ReadyAsync()
    {
        var deadline = TimeProvider.System.GetTimestamp() + (5 * TimeProvider.System.TimestampFrequency);
        while ((await Store.CheckHealthAsync(CancellationToken.None)).Status != Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy)
        {
            if (TimeProvider.System.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"The {Store.Name} cache store did not become healthy within 5 seconds.");
            }

            await Task.Delay(10);
        }

        return this;
    }

    public async ValueTask DisposeAsync()
    {
        Counters.Dispose();
        await Services.DisposeAsync();
        ownedKeys?.Dispose();
    }
}
