using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EligibilityGateway.Testing;

/// <summary>
/// A real HAProxy (Debian package <c>haproxy</c>, installed by <c>scripts/test.sh</c>) run as a child process in front
/// of several HTTP servers on loopback, from a configuration generated here: one frontend on a free loopback port,
/// round-robin over the servers with no stickiness (no cookie, no stick table, each request balanced on its own), an
/// HTTP health check of <c>healthPath</c> on every server, and each response marked with the server that answered it
/// in <see cref="ServerHeader"/>. Its runtime API (a Unix socket in its own directory) reports each server's state.
/// </summary>
public sealed class HaproxyServer : IAsyncDisposable
{
    /// <summary>The response header naming the server (replica) that answered, added by HAProxy itself.</summary>
    public const string ServerHeader = "X-Served-By";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);

    private readonly string directory;
    private readonly StringBuilder output = new();
    private Process? process;

    private HaproxyServer(string directory, int port)
    {
        this.directory = directory;
        Port = port;
    }

    /// <summary>The loopback port of the frontend.</summary>
    public int Port { get; }

    /// <summary>The frontend's base address: what clients use.</summary>
    public Uri Address => new($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/");

    /// <summary>The generated configuration, for failure messages.</summary>
    public string Configuration => File.ReadAllText(ConfigurationPath);

    /// <summary>What HAProxy wrote: warnings, and one log line per request (<c>option httplog</c>) naming its server.</summary>
    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    private string ConfigurationPath => Path.Combine(directory, "haproxy.cfg");

    private string SocketPath => Path.Combine(directory, "admin.sock");

    /// <summary>
    /// Starts HAProxy in front of <paramref name="servers"/> and returns once every server is UP by its health check
    /// (<paramref name="healthPath"/> answering 200).
    /// </summary>
    /// <param name="servers">Each server's name (as <see cref="ServerHeader"/> reports it) and address.</param>
    /// <param name="healthPath">The path HAProxy's health check asks; a server is UP while it answers 200.</param>
    /// <param name="port">The frontend's port, when the servers must know it beforehand (their public origin); 0 to choose a free one.</param>
    /// <param name="cancellationToken">Stops the wait.</param>
    /// <exception cref="InvalidOperationException">HAProxy is not installed, did not start, or a server did not come UP.</exception>
    public static async Task<HaproxyServer> StartNewAsync(IReadOnlyList<(string Name, Uri Address)> servers, string healthPath, int port = 0, CancellationToken cancellationToken = default)
    {
        var executable = FindExecutable() ?? throw new InvalidOperationException(
            "haproxy is not installed, and these tests start a real one. Install the Debian package " +
            "(apt-get install -y haproxy) or run ./scripts/test.sh, which installs it.");

        var directory = Directory.CreateTempSubdirectory("egw-haproxy-").FullName;
        for (var attempt = 1; ; attempt++)
        {
            var haproxy = new HaproxyServer(directory, port != 0 ? port : FreeLoopbackPort());
            try
            {
                await File.WriteAllTextAsync(haproxy.ConfigurationPath, haproxy.Render(servers, healthPath), cancellationToken);
                await haproxy.StartAsync(executable, cancellationToken);
                foreach (var (name, _) in servers)
                {
                    await haproxy.WaitForStatusAsync(name, "UP", StartTimeout, cancellationToken);
                }

                return haproxy;
            }
            catch (InvalidOperationException) when (port == 0 && attempt < 3 && haproxy.process is { HasExited: true })
            {
                // The probed port was taken before HAProxy bound it: try another.
                haproxy.process.Dispose();
            }
            catch
            {
                await haproxy.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Each server's state as HAProxy's runtime API (<c>show stat</c>) reports it, by server name.</summary>
    public async Task<IReadOnlyDictionary<string, ServerStats>> ServersAsync(CancellationToken cancellationToken = default)
    {
        var csv = await CommandAsync("show stat", cancellationToken);
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].TrimStart('#', ' ').Split(',');
        int Column(string name) => Array.IndexOf(header, name) is >= 0 and var i ? i : throw new InvalidOperationException($"show stat has no column {name}: {lines[0]}");
        var (proxy, server, status, total) = (Column("pxname"), Column("svname"), Column("status"), Column("stot"));
        return lines.Skip(1)
            .Select(line => line.Split(','))
            .Where(fields => fields[proxy] == "replicas" && fields[server] is not ("BACKEND" or "FRONTEND"))
            .ToDictionary(
                fields => fields[server],
                fields => new ServerStats(fields[status], long.Parse(fields[total], CultureInfo.InvariantCulture)));
    }

    /// <summary>Waits until HAProxy reports <paramref name="server"/> with <paramref name="status"/> (<c>UP</c>, <c>DOWN</c>).</summary>
    public async Task WaitForStatusAsync(string server, string status, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var waited = Stopwatch.StartNew();
        var last = "";
        while (waited.Elapsed < timeout)
        {
            if (process is not { HasExited: false })
            {
                throw new InvalidOperationException($"haproxy exited: {Output}");
            }

            try
            {
                var servers = await ServersAsync(cancellationToken);
                last = servers.TryGetValue(server, out var stats) ? stats.Status : "(no such server)";
                if (last.StartsWith(status, StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (SocketException)
            {
                // The runtime socket is not there yet.
            }

            await Task.Delay(50, cancellationToken);
        }

        throw new InvalidOperationException($"haproxy did not report {server} {status} within {timeout} (last: {last}):\n{Output}");
    }

    public async ValueTask DisposeAsync()
    {
        var running = process;
        process = null;
        if (running is not null)
        {
            if (!running.HasExited)
            {
                running.Kill(entireProcessTree: true);
            }

            await running.WaitForExitAsync(CancellationToken.None);
            running.Dispose();
        }

        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless; failing a test run over it is not.
        }
    }

    private string Render(IReadOnlyList<(string Name, Uri Address)> servers, string healthPath)
    {
        var config = new StringBuilder();
        config.Append(CultureInfo.InvariantCulture, $"""
            global
                log stdout format raw local0 info
                stats socket {SocketPath} mode 600 level admin
                nbthread 1
                maxconn 2000

            defaults
                mode http
                log global
                option httplog
                timeout connect 2s
                timeout client 60s
                timeout server 60s
                timeout check 2s
                # A connection refused (a replica gone) is tried again on another replica; a request already sent is not
                # (it is not safe to repeat a check), so a replica killed mid-request shows as a 502 to that client.
                retries 2
                option redispatch 1

            frontend gateway
                bind 127.0.0.1:{Port}
                default_backend replicas

            backend replicas
                balance roundrobin
                option httpchk
                http-check send meth GET uri {healthPath} ver HTTP/1.1 hdr Host localhost
                http-check expect status 200
                default-server check inter 500ms fastinter 250ms downinter 250ms rise 1 fall 2
                http-response set-header {ServerHeader} %[srv_name]

            """);
        foreach (var (name, address) in servers)
        {
            config.Append(CultureInfo.InvariantCulture, $"    server {name} {address.Host}:{address.Port}\n");
        }

        return config.ToString();
    }

    private async Task StartAsync(string executable, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(executable)
        {
            ArgumentList = { "-db", "-f", ConfigurationPath },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        var started = new Process { StartInfo = start };
        started.OutputDataReceived += (_, e) => Append(e.Data);
        started.ErrorDataReceived += (_, e) => Append(e.Data);
        started.Start();
        started.BeginOutputReadLine();
        started.BeginErrorReadLine();
        process = started;

        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < StartTimeout)
        {
            if (started.HasExited)
            {
                await started.WaitForExitAsync(CancellationToken.None);
                throw new InvalidOperationException($"haproxy exited with code {started.ExitCode}: {Output}\n{Configuration}");
            }

            if (File.Exists(SocketPath) && await AcceptsAsync(cancellationToken))
            {
                return;
            }

            await Task.Delay(20, cancellationToken);
        }

        throw new InvalidOperationException($"haproxy did not listen on port {Port} within {StartTimeout}: {Output}");
    }

    private async Task<bool> AcceptsAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private async Task<string> CommandAsync(string command, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), cancellationToken);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\n"), cancellationToken);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        return await reader.ReadToEndAsync(cancellationToken);
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

    /// <summary>A loopback port free when probed.</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? FindExecutable()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/sbin")
            .Append("/usr/bin")
            .Select(d => Path.Combine(d, "haproxy"))
            .FirstOrDefault(File.Exists);
    }
}

/// <summary>One server as HAProxy sees it: <c>UP</c>, <c>DOWN</c> (with transitions such as <c>UP 1/2</c>), and the requests it was sent.</summary>
/// <param name="Status">HAProxy's status column.</param>
/// <param name="Sessions">Total sessions (requests, in HTTP mode) HAProxy has sent to the server.</param>
public sealed record ServerStats(string Status, long Sessions);
