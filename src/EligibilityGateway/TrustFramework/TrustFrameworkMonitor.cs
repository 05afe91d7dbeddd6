using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace EligibilityGateway.TrustFramework;

/// <summary>
/// Holds the trust framework in force and keeps it current. Loads when the host starts (a bad file stops
/// start-up with <see cref="TrustFrameworkLoadException"/>); afterwards polls the file and puts a changed, valid
/// file in force by swapping one reference, while a changed, invalid file is logged and counted and the last good
/// framework stays in force.
/// </summary>
/// <remarks>
/// Polling the file's bytes rather than watching for events is deliberate: a Kubernetes ConfigMap update swaps the
/// <c>..data</c> symlink of the mounted directory, which file-system events on the file itself do not report,
/// and comparing content hashes sees every kind of replacement. A change is applied only once two consecutive
/// polls read the same bytes, so a file caught half-written is not reported as invalid.
/// </remarks>
internal sealed class TrustFrameworkMonitor : IHostedLifecycleService, IDisposable
{
    private const string UnreadableMarker = "unreadable";

    private readonly string source;
    private readonly string fullPath;
    private readonly TimeSpan pollInterval;
    private readonly TimeProvider timeProvider;
    private readonly TrustFrameworkMetrics metrics;
    private readonly ILogger<TrustFrameworkMonitor> logger;
    private readonly Lock pollLock = new();
    private TrustFrameworkSnapshot? current;
    private CancellationTokenSource reloadToken = new();
    private string? lastSeenHash;
    private string? pendingHash;
    private ITimer? timer;

    public TrustFrameworkMonitor(
        IOptions<TrustFrameworkOptions> options,
        IHostEnvironment environment,
        TimeProvider timeProvider,
        TrustFrameworkMetrics metrics,
        ILogger<TrustFrameworkMonitor> logger)
    {
        source = options.Value.Path;
        fullPath = System.IO.Path.GetFullPath(source, environment.ContentRootPath);
        pollInterval = options.Value.PollInterval;
        this.timeProvider = timeProvider;
        this.metrics = metrics;
        this.logger = logger;
    }

    /// <summary>The absolute path of the watched file.</summary>
    public string FullPath => fullPath;

    /// <summary>The framework in force. Read it once per request and use that snapshot throughout.</summary>
    /// <exception cref="InvalidOperationException">Before the host has started.</exception>
    public TrustFrameworkSnapshot Current =>
        Volatile.Read(ref current) ?? throw new InvalidOperationException("The trust framework loads when the host starts; it has not been loaded yet.");

    public bool TryGetCurrent([NotNullWhen(true)] out TrustFrameworkSnapshot? snapshot)
    {
        snapshot = Volatile.Read(ref current);
        return snapshot is not null;
    }

    /// <summary>Fires once when a new framework is put in force (for example, to audit the load or resize provider pipelines).</summary>
    public IChangeToken GetReloadToken() => new CancellationChangeToken(Volatile.Read(ref reloadToken).Token);

    /// <summary>Loads the file for the first time.</summary>
    /// <exception cref="TrustFrameworkLoadException">The file is missing or invalid; lists every error.</exception>
    public void LoadInitial()
    {
        lock (pollLock)
        {
            var result = TrustFrameworkLoader.LoadFile(fullPath, source);
            if (!result.Succeeded)
            {
                Log.StartupRefused(logger, source, result.Errors.Count, string.Join('\n', result.Errors));
                throw new TrustFrameworkLoadException(source, result.Errors);
            }

            lastSeenHash = result.Sha256;
            Publish(result.Definition, result.Sha256);
            Log.Loaded(logger, result.Definition.Id, result.Definition.Version, source, result.Sha256, result.Definition.Sandbox);
        }
    }

    /// <summary>Looks at the file once; the timer calls this every poll interval.</summary>
    public void Poll()
    {
        if (!pollLock.TryEnter())
        {
            // The previous poll is still running; this tick has nothing to add.
            return;
        }

        try
        {
            var bytes = TryRead();
            var hash = bytes is null ? UnreadableMarker : Convert.ToHexStringLower(SHA256.HashData(bytes));
            if (hash == lastSeenHash)
            {
                pendingHash = null;
                return;
            }

            if (hash != pendingHash)
            {
                // Debounce: wait for the next poll to read the same bytes before acting on them.
                pendingHash = hash;
                return;
            }

            pendingHash = null;
            lastSeenHash = hash;
            Apply(bytes is null ? TrustFrameworkLoader.LoadFile(fullPath, source) : TrustFrameworkLoader.Parse(bytes, source));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A timer callback must not throw; the framework in force is untouched.
            Log.PollFailed(logger, source, ex);
        }
        finally
        {
            pollLock.Exit();
        }
    }

    private void Apply(TrustFrameworkLoadResult result)
    {
        var previous = Volatile.Read(ref current);
        if (result.Succeeded)
        {
            if (previous is not null && previous.Sha256 == result.Sha256)
            {
                // Back to the bytes already in force (say, after a brief read failure): nothing changes.
                return;
            }

            Publish(result.Definition, result.Sha256);
            metrics.Reloaded();
            Log.Reloaded(logger, source, previous?.Definition.Id ?? "(none)", previous?.Definition.Version ?? "(none)", result.Definition.Id, result.Definition.Version, result.Sha256);
            return;
        }

        metrics.ReloadFailed();
        Log.ReloadRefused(logger, source, result.Errors.Count, previous?.Definition.Id ?? "(none)", previous?.Definition.Version ?? "(none)", string.Join('\n', result.Errors));
    }

    private void Publish(TrustFrameworkDefinition definition, string sha256)
    {
        Volatile.Write(ref current, new TrustFrameworkSnapshot(definition, source, sha256, timeProvider.GetUtcNow()));
        var previousToken = Interlocked.Exchange(ref reloadToken, new CancellationTokenSource());
        previousToken.Cancel();
        previousToken.Dispose();
    }

    private byte[]? TryRead()
    {
        try
        {
            var info = new FileInfo(fullPath);
            return info.Exists && info.Length <= TrustFrameworkLoader.MaximumFileBytes ? File.ReadAllBytes(fullPath) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Mid-swap or briefly absent; LoadFile reports the reason if it persists to the next poll.
            return null;
        }
    }

    Task IHostedLifecycleService.StartingAsync(CancellationToken cancellationToken)
    {
        // Before any hosted service's StartAsync, so Kestrel never listens without a framework.
        LoadInitial();
        return Task.CompletedTask;
    }

    Task IHostedService.StartAsync(CancellationToken cancellationToken)
    {
        timer = timeProvider.CreateTimer(_ => Poll(), null, pollInterval, pollInterval);
        return Task.CompletedTask;
    }

    Task IHostedLifecycleService.StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedLifecycleService.StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedService.StopAsync(CancellationToken cancellationToken)
    {
        timer?.Dispose();
        return Task.CompletedTask;
    }

    Task IHostedLifecycleService.StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        timer?.Dispose();
        reloadToken.Dispose();
    }
}
