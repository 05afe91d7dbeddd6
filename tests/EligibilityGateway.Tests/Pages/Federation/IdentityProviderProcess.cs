using System.Diagnostics;
using System.Text.Json;

namespace EligibilityGateway.Tests.Pages.Federation;

/// <summary>
/// <c>tests/identity-provider/provider.mjs</c> — oidc-provider playing the citizens' identity provider — as a child
/// process on a free loopback port. Its clients are registered once the gateway's address is known
/// (<see cref="RegisterClientsAsync"/>). Closing its stdin ends it.
/// </summary>
internal sealed class IdentityProviderProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly Process process;
    private readonly StringWriterQueue errors = new();

    private IdentityProviderProcess(Process process) => this.process = process;

    /// <summary>The provider's issuer identifier, <c>http://127.0.0.1:{port}</c>.</summary>
    public string Issuer { get; private set; } = "";

    /// <summary>What the provider wrote to stderr (warnings, failures), for a failing test's message.</summary>
    public string Errors => errors.ToString();

    public static async Task<IdentityProviderProcess> StartAsync()
    {
        var directory = ScriptDirectory();
        if (!Directory.Exists(Path.Combine(directory, "node_modules", "oidc-provider")))
        {
            throw new InvalidOperationException(
                $"The test identity provider's packages are not installed: run 'npm ci' in {directory} (./scripts/test.sh does).");
        }

        var start = new ProcessStartInfo("node", "provider.mjs")
        {
            WorkingDirectory = directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["NODE_ENV"] = "test";
        var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        var provider = new IdentityProviderProcess(process);
        process.ErrorDataReceived += (_, e) => provider.errors.Add(e.Data);
        process.BeginErrorReadLine();
        try
        {
            var port = (await provider.ReadMessageAsync()).GetProperty("port").GetInt32();
            provider.Issuer = $"http://127.0.0.1:{port}";
            return provider;
        }
        catch
        {
            await provider.DisposeAsync();
            throw;
        }
    }

    /// <summary>Registers the clients (OpenID Connect Dynamic Client Registration metadata) and starts the provider.</summary>
    public async Task RegisterClientsAsync(params object[] clients)
    {
        await process.StandardInput.WriteLineAsync(JsonSerializer.Serialize(new { clients }));
        await process.StandardInput.FlushAsync();
        (await ReadMessageAsync()).GetProperty("ready").GetBoolean().Should().BeTrue();
    }

    /// <summary>
    /// The parameters of the last authorization request the provider took, as it resolved them: those the gateway pushed
    /// (PAR), or those in the browser's URL.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> LastAuthorizationRequestAsync()
    {
        using var http = new HttpClient();
        var json = await http.GetStringAsync(Issuer + "/test/last-authorization-request");
        return JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json)!
            .Where(p => p.Value.ValueKind == JsonValueKind.String)
            .ToDictionary(p => p.Key, p => p.Value.GetString()!);
    }

    private async Task<JsonElement> ReadMessageAsync()
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                   ?? throw new InvalidOperationException("The identity provider ended: " + errors);
        return JsonDocument.Parse(line).RootElement.Clone();
    }

    /// <summary><c>tests/identity-provider</c>, found from the test assembly's folder upwards.</summary>
    private static string ScriptDirectory()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "identity-provider");
            if (File.Exists(Path.Combine(candidate, "provider.mjs")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("tests/identity-provider/provider.mjs was not found above " + AppContext.BaseDirectory);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }
        finally
        {
            process.Dispose();
        }
    }

    /// <summary>Lines written by another thread, read by a test.</summary>
    private sealed class StringWriterQueue
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> lines = new();

        public void Add(string? line)
        {
            if (line is not null)
            {
                lines.Enqueue(line);
            }
        }

        public override string ToString() => string.Join(Environment.NewLine, lines);
    }
}
