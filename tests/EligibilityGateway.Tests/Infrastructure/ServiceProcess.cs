using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace EligibilityGateway.Tests.Infrastructure;

/// <summary>
/// One of the built applications (<c>EligibilityGateway.dll</c>, <c>MockCentralGovernment.dll</c>) run as its own
/// process on a loopback port, configured through environment variables as an operator would. It can be stopped as
/// an orchestrator stops a pod (SIGTERM) or as a crash does (SIGKILL), and started again on the same port.
/// </summary>
internal sealed partial class ServiceProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();

    private ServiceProcess(Process process) => this.process = process;

    public Uri Address { get; private set; } = null!;

    /// <summary>The process id, as <c>kill</c> would name it.</summary>
    public int Id => process.Id;

    public bool HasExited => process.HasExited;

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

    /// <param name="assembly">The application's assembly beside the tests.</param>
    /// <param name="environment">Its configuration (<c>Section__Key</c>) and any other variables.</param>
    /// <param name="port">The loopback port to listen on; 0 (the default) lets the OS choose.</param>
    /// <param name="alsoListenOn">More loopback ports to listen on; <see cref="Address"/> stays the first.</param>
    public static async Task<ServiceProcess> StartAsync(string assembly, IDictionary<string, string?> environment, int port = 0, params int[] alsoListenOn)
    {
        var urls = string.Join(';', new[] { port }.Concat(alsoListenOn).Select(p => $"http://127.0.0.1:{p.ToString(CultureInfo.InvariantCulture)}"));
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, assembly), $"--urls={urls}" },
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
        service.process.Exited += (_, _) =>
        {
            // Exited can come before the last lines the process wrote have been read; waiting without a timeout also
            // waits for both redirected streams to reach their end, so the message holds why it stopped.
            service.process.WaitForExit();
            listening.TrySetException(new InvalidOperationException($"{assembly} exited before listening:\n{service.Output}"));
        };

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

    /// <summary>Kills the process as a crash or an OOM kill would (SIGKILL: no shutdown of any kind) and waits for it to go.</summary>
    public async Task KillAsync()
    {
        if (!process.HasExited)
        {
            Signal("KILL", process.Id);
        }

        await process.WaitForExitAsync();
    }

    /// <summary>Sends SIGTERM, as Kubernetes does to a pod it stops, and waits up to <paramref name="timeout"/> for the exit; returns the exit code.</summary>
    /// <exception cref="TimeoutException">The process did not exit in time (it is then killed).</exception>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (!process.HasExited)
        {
            Signal("TERM", process.Id);
            using var wait = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                throw new TimeoutException($"The process did not exit within {timeout} of SIGTERM:\n{Output}");
            }
        }

        return process.ExitCode;
    }

    /// <summary>Stops the process as an orchestrator would (SIGTERM), so that it flushes what it still holds.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            try
            {
                await TerminateAsync(TimeSpan.FromSeconds(20));
            }
            catch (TimeoutException)
            {
                // Killed; disposing must not fail the test run.
            }
        }

        process.Dispose();
    }

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningOn();
}
