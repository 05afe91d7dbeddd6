using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EligibilityGateway.Testing;

/// <summary>
/// A real <c>redis-server</c> (Debian package <c>redis-server</c>, installed by <c>scripts/test.sh</c>) run as a child
/// process on a free loopback port, with its own temporary directory and no persistence. It can be stopped and
/// started again on the same port, to play an outage and a return. Independent of any Redis the OS may run.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);

    private readonly string executable;
    private readonly string directory;
    private readonly StringBuilder output = new();
    private Process? process;

    private RedisServer(string executable, int port)
    {
        this.executable = executable;
        Port = port;
        directory = Directory.CreateTempSubdirectory("egw-redis-").FullName;
    }

    /// <summary>The loopback port the server listens on; the same across <see cref="StopAsync"/> and <see cref="StartAsync"/>.</summary>
    public int Port { get; }

    /// <summary><c>127.0.0.1:port</c>, usable as <c>Cache:Redis</c>.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>Whether the child process is running.</summary>
    public bool IsRunning => process is { HasExited: false };

    /// <summary>Starts a new server on a free loopback port and waits until it answers PING.</summary>
    /// <exception cref="InvalidOperationException"><c>redis-server</c> is not installed, or did not start; the message says why.</exception>
    public static async Task<RedisServer> StartNewAsync(CancellationToken cancellationToken = default)
    {
        var executable = FindExecutable() ?? throw new InvalidOperationException(
            "redis-server is not installed, and these tests start a real one. Install the Debian package " +
            "(apt-get install -y redis-server) or run ./scripts/test.sh, which installs it.");

        // The port is free when probed but could be taken before redis-server binds it; try a few.
        for (var attempt = 1; ; attempt++)
        {
            var server = new RedisServer(executable, FreeLoopbackPort());
            try
            {
                await server.StartAsync(cancellationToken);
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                await server.DisposeAsync();
            }
        }
    }

    /// <summary>Starts the server again on <see cref="Port"/> (after <see cref="StopAsync"/>), empty, and waits until it answers PING.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"redis-server is already running on port {Port}.");
        }

        lock (output)
        {
            output.Clear();
        }

        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (var argument in new[]
        {
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            "--dir", directory,
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--logfile", "",
            "--loglevel", "warning",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var started = new Process { StartInfo = start };
        started.OutputDataReceived += (_, e) => Append(e.Data);
        started.ErrorDataReceived += (_, e) => Append(e.Data);
        started.Start();
        started.BeginOutputReadLine();
        started.BeginErrorReadLine();
        process = started;

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        while (true)
        {
            if (started.HasExited)
            {
                await started.WaitForExitAsync(CancellationToken.None);
                throw new InvalidOperationException($"redis-server exited with code {started.ExitCode} on port {Port}: {Output()}");
            }

            if (await AnswersPingAsync(timeout.Token))
            {
                return;
            }

            try
            {
                await Task.Delay(20, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await KillAsync();
                throw new InvalidOperationException($"redis-server did not answer PING on port {Port} within {StartTimeout}: {Output()}");
            }
        }
    }

    /// <summary>Kills the server (as a crash would: no shutdown handshake) and waits for it to exit; its port stays reserved for <see cref="StartAsync"/>.</summary>
    public Task StopAsync() => KillAsync();

    /// <summary>Sends PING over a fresh connection; true on <c>+PONG</c>.</summary>
    public async Task<bool> AnswersPingAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken);
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer, cancellationToken);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless; failing a test run over it is not.
        }
    }

    private async Task KillAsync()
    {
        var running = process;
        process = null;
        if (running is null)
        {
            return;
        }

        try
        {
            if (!running.HasExited)
            {
                running.Kill(entireProcessTree: true);
            }

            await running.WaitForExitAsync(CancellationToken.None);
        }
        finally
        {
            running.Dispose();
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    private string Output()
    {
        lock (output)
        {
            return output.Length == 0 ? "(no output)" : output.ToString().Trim();
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? FindExecutable()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin")
            .Append("/usr/sbin")
            .Select(d => Path.Combine(d, "redis-server"))
            .FirstOrDefault(File.Exists);
    }
}
