using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace EligibilityGateway.Tests.Telemetry;

/// <summary>
/// One of the built applications (<c>EligibilityGateway.dll</c>, <c>MockCentralGovernment.dll</c>) run as its own
/// process on a free loopback port, configured through environment variables as an operator would.
/// </summary>
internal sealed partial class ServiceProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();

    private ServiceProcess(Process process) => this.process = process;

    public Uri Address { get; private set; } = null!;

    /// <summary>What the process wrote, for the failure message of a test.</summary>
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

    public static async Task<ServiceProcess> StartAsync(string assembly, IDictionary<string, string?> environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, assembly), "--urls=http://127.0.0.1:0" },
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var service = new ServiceProcess(Process.Start(start)!);
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Read(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (service.output)
            {
                service.output.AppendLine(line);
            }

            if (ListeningOn().Match(line) is { Success: true } match)
            {
                listening.TrySetResult(new Uri(match.Groups[1].Value));
            }
        }

        service.process.OutputDataReceived += (_, e) => Read(e.Data);
        service.process.ErrorDataReceived += (_, e) => Read(e.Data);
        service.process.BeginOutputReadLine();
        service.process.BeginErrorReadLine();
        service.process.EnableRaisingEvents = true;
        service.process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException($"{assembly} exited before listening:\n{service.Output}"));

        try
        {
            service.Address = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }

        return service;
    }

    /// <summary>Stops the process as an orchestrator would (SIGTERM), so that it flushes what it still holds.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            Terminate(process.Id);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        process.Dispose();
    }

    private static void Terminate(int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningOn();
}
