using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace EligibilityGateway.Testing;

/// <summary>
/// A throwaway PostgreSQL 15 cluster (Debian package <c>postgresql</c>, installed by <c>scripts/test.sh</c>):
/// <c>initdb</c> into a temporary directory, then the server on a free loopback port with <c>fsync=on</c>, trust
/// authentication and its socket in that directory. Independent of any cluster the OS runs. PostgreSQL refuses to
/// run as root, so as root both run as the <c>postgres</c> OS user (which the package creates) via <c>runuser</c>,
/// and the directory is given to that user. Each <see cref="CreateDatabaseAsync"/> makes a new, empty database.
/// Disposing stops the server and deletes the directory, whatever the tests did.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    /// <summary>Where Debian installs the version-15 server binaries (not on PATH).</summary>
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";

    private const string OsUser = "postgres";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly string directory;
    private readonly bool asOtherUser;
    private int databases;

    private PostgresServer(string directory, int port, bool asOtherUser)
    {
        this.directory = directory;
        Port = port;
        this.asOtherUser = asOtherUser;
    }

    /// <summary>The loopback port the server listens on.</summary>
    public int Port { get; }

    private string DataDirectory => Path.Combine(directory, "data");

    /// <summary>Initialises a cluster and starts it on a free loopback port; returns once it accepts connections.</summary>
    /// <exception cref="InvalidOperationException">PostgreSQL 15 is not installed, or did not start; the message says why.</exception>
    public static async Task<PostgresServer> StartNewAsync(CancellationToken cancellationToken = default)
    {
        if (!File.Exists(Path.Combine(BinDirectory, "initdb")) || !File.Exists(Path.Combine(BinDirectory, "pg_ctl")))
        {
            throw new InvalidOperationException(
                $"PostgreSQL 15 is not installed ({BinDirectory}/initdb is missing), and these tests start a real one. " +
                "Install the Debian package (apt-get install -y postgresql) or run ./scripts/test.sh, which installs it.");
        }

        var asOtherUser = Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root" || IsRoot();
        var directory = Directory.CreateTempSubdirectory("egw-postgres-").FullName;
        if (asOtherUser)
        {
            await RunAsync("chown", [OsUser, directory], asUser: false, cancellationToken);
        }

        for (var attempt = 1; ; attempt++)
        {
            var server = new PostgresServer(directory, FreeLoopbackPort(), asOtherUser);
            try
            {
                if (attempt == 1)
                {
                    // --no-sync only for initdb's own files; the running server has fsync=on.
                    await server.RunToolAsync("initdb", ["-D", server.DataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"], cancellationToken);
                }

                await server.RunToolAsync("pg_ctl",
                [
                    "-D", server.DataDirectory, "-l", Path.Combine(directory, "server.log"), "-w", "-t", ((int)StartTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture),
                    "-o", $"-p {server.Port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200",
                    "start",
                ], cancellationToken);
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // The probed port was taken before the server bound it: try another.
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>An Npgsql connection string for superuser <c>postgres</c> on <paramref name="database"/>.</summary>
    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=true;Timeout=15";

    /// <summary>Creates a new, empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "egw", CancellationToken cancellationToken = default)
    {
        var name = $"{prefix}_{Interlocked.Increment(ref databases)}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 20, 63)].ToLowerInvariant();
        await RunToolAsync("createdb", ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", name], cancellationToken);
        return ConnectionString(name);
    }

    /// <summary>Runs SQL as the superuser with <c>psql</c> on <paramref name="database"/>; throws with its output on failure.</summary>
    public Task<string> PsqlAsync(string database, string sql, CancellationToken cancellationToken = default) =>
        RunToolAsync("psql", ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql], cancellationToken);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
            {
                await RunToolAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"], CancellationToken.None);
            }
        }
        catch (InvalidOperationException)
        {
            // Already stopped; the directory goes either way.
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

    private Task<string> RunToolAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var executable = Path.Combine(BinDirectory, tool);
        return asOtherUser
            ? RunAsync("runuser", ["-u", OsUser, "--", executable, .. arguments], asUser: true, cancellationToken)
            : RunAsync(executable, arguments, asUser: false, cancellationToken);
    }

    private static async Task<string> RunAsync(string executable, IReadOnlyList<string> arguments, bool asUser, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,

            // The postgres user cannot enter the test's working directory or read its home.
            WorkingDirectory = asUser ? "/" : Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{executable} did not start.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(executable)} {string.Join(' ', arguments)} exited with code {process.ExitCode}: {await output}{await error}");
        }

        return (await output).Trim();
    }

    private static bool IsRoot()
    {
        try
        {
            return File.ReadLines("/proc/self/status").Any(line => line.StartsWith("Uid:", StringComparison.Ordinal) && line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1] == "0");
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
