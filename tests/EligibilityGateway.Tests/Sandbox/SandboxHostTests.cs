using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using EligibilityGateway.Sandbox;

namespace EligibilityGateway.Tests.Sandbox;

/// <summary>The README's first command, proven: the whole system starts with its embedded defaults.</summary>
public sealed partial class SandboxHostTests : IDisposable
{
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("egw-sandbox-").FullName;

    [Fact]
    public async Task Start_WithEmbeddedDefaults_GatewayIsReadyAndMockAnswersForSmith()
    {
        await using var host = await SandboxHost.StartAsync(new SandboxOptions
        {
            GatewayUrl = new Uri("http://127.0.0.1:0"),
            MockUrl = new Uri("http://127.0.0.1:0"),
            DataDirectory = _dataDirectory,
        });
        using var http = new HttpClient();

        using var ready = await http.GetAsync(new Uri(host.GatewayAddress, "/health/ready"));
        ready.StatusCode.Should().Be(HttpStatusCode.OK);
        host.TrustFrameworkPath.Should().EndWith(Path.Combine("trust-frameworks", "sandbox.yaml"));

        using var match = new HttpRequestMessage(HttpMethod.Post, new Uri(host.MockAddress, "/dwp/v1/citizens/match"))
        {
            Content = new StringContent("""{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"1990-01-01"}""", Encoding.UTF8, "application/json"),
        };
        match.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "dwp-sandbox-credential");
        // Who asks and why, as every provider call must say (contracts/providers/README.md, "Caller headers").
        match.Headers.Add("X-Correlation-Id", "4bf92f3577b34da6a3ce929d0e0e4736");
        match.Headers.Add("X-Requesting-Organisation", "leeds");
        match.Headers.Add("X-Scheme", "free-school-meals");
        match.Headers.Add("X-Purpose", "dpv:ServiceProvision");
        using var matched = await http.SendAsync(match);
        matched.StatusCode.Should().Be(HttpStatusCode.OK);
        Directory.Exists(host.DataDirectory).Should().BeTrue();
    }

    [Fact]
    public async Task SandboxExecutable_PrintsItsAddressesAndIsReadyWithinThirtySeconds()
    {
        using var process = StartSandbox("--gateway-url", "http://127.0.0.1:0", "--mock-url", "http://127.0.0.1:0", "--data-dir", _dataDirectory);
        try
        {
            var stopwatch = Stopwatch.StartNew();
            var gateway = await ReadAddressAsync(process, GatewayLine(), TimeSpan.FromSeconds(30));
            using var http = new HttpClient();
            using var ready = await http.GetAsync(new Uri(gateway, "/health/ready"));

            ready.StatusCode.Should().Be(HttpStatusCode.OK);
            stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(30));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task SandboxExecutable_WithAnInvalidTrustFramework_ExitsWithTheErrorsPrinted()
    {
        var bad = Path.Combine(_dataDirectory, "bad.yaml");
        await File.WriteAllTextAsync(bad, "id: broken\nversion: 1\nsurprise: true\n");

        using var process = StartSandbox("--gateway-url", "http://127.0.0.1:0", "--mock-url", "http://127.0.0.1:0", "--data-dir", _dataDirectory, "--trust-framework", bad);
        var stderr = process.StandardError.ReadToEndAsync();
        var exited = process.WaitForExitAsync();
        var finished = await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(60)));
        if (finished != exited)
        {
            process.Kill(entireProcessTree: true);
        }

        finished.Should().Be(exited, "a bad trust framework must stop the sandbox rather than leave it half up");
        process.ExitCode.Should().Be(1);
        (await stderr).Should().Contain("bad.yaml:3").And.Contain("surprise");
    }

    public void Dispose() => Directory.Delete(_dataDirectory, recursive: true);

    /// <summary>Starts the sandbox executable with <paramref name="args"/>, its standard output and error redirected.</summary>
    internal static Process StartSandbox(params string[] args)
    {
        // The sandbox assembly is copied beside the tests, with its runtime configuration, by the project reference.
        var entry = Path.Combine(AppContext.BaseDirectory, "EligibilityGateway.Sandbox.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(entry);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start)!;
    }

    private static async Task<Uri> ReadAddressAsync(Process process, Regex pattern, TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        while (await process.StandardOutput.ReadLineAsync(cancellation.Token) is { } line)
        {
            var match = pattern.Match(line);
            if (match.Success)
            {
                return new Uri(match.Groups[1].Value);
            }
        }

        throw new InvalidOperationException($"The sandbox exited without printing its address: {await process.StandardError.ReadToEndAsync()}");
    }

    [GeneratedRegex(@"^\s*Gateway\s+(http://\S+)")]
    private static partial Regex GatewayLine();
}
