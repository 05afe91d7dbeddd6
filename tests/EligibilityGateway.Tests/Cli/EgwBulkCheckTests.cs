using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Tests.BulkChecks;
using EligibilityGateway.Tests.EndToEnd;

namespace EligibilityGateway.Tests.Cli;

/// <summary>
/// <c>egw bulk check</c> run as its own process (output redirected, so Spectre.Console writes plain lines) against the
/// sandbox on loopback: a file with good and bad rows, Ctrl-C (SIGINT) mid-job, and wrong credentials.
/// </summary>
public sealed class EgwBulkCheckTests(SandboxFixture sandbox) : IClassFixture<SandboxFixture>, IAsyncLifetime, IDisposable
{
    private const string Header = "caseReference,nationalInsuranceNumber,nationalAsylumSeekerServiceNumber,lastName,dateOfBirth\r\n";

    private readonly string workspace = Directory.CreateTempSubdirectory("egw-bulk-").FullName;

    public Task InitializeAsync() => sandbox.ResetFaultsAsync();

    public Task DisposeAsync() => sandbox.ResetFaultsAsync();

    public void Dispose() => Directory.Delete(workspace, recursive: true);

    [Fact]
    public async Task BulkCheck_CsvWithGoodAndBadRows_WritesTheResultsCsvAndReportsBadRowsByRowAndField()
    {
        var input = await WriteAsync("residents.csv", Header
            + "FSM-1,AB123456C,,Smith,1990-01-01\r\n"
            + "FSM-2,CE234567A,,Jones,1985-05-15\r\n"
            + "FSM-3,CE234567A,,Jones,1985-13-15\r\n"
            + "FSM-4,JK456789C,,Brown,1992-02-29\r\n"
            + "FSM-5,,240712349,Khan,1990-01-01\r\n");
        var results = Path.Combine(workspace, "results.csv");

        using var egw = Egw.Start(sandbox, "leeds-sandbox-secret", "--file", input, "--out", results);
        var exit = await egw.WaitAsync(TimeSpan.FromSeconds(60));

        exit.Should().Be(0, egw.Transcript);
        egw.Error.Should().Contain("row 3: dateOfBirth: ");
        egw.Output.Should().NotContain("\u001b[", "a redirected output gets plain lines, no terminal escapes");
        egw.Output.Should().MatchRegex(@"completed 5/5: eligible 2, not eligible 1, not found 1, undetermined 0, failed 0, invalid 1", "a redirected output gets one plain line per change of the counts");
        egw.Output.Should().MatchRegex(@"bulk check [0-9a-f-]{36} completed: 5 rows: eligible 2, not eligible 1, not found 1, undetermined 0, failed 0, invalid 1, cancelled 0");
        egw.Output.Should().Contain($"results written to {results}");
        foreach (var personal in Subjects.PersonalData)
        {
            (egw.Output + egw.Error).Should().NotContain(personal);
        }

        var lines = (await File.ReadAllTextAsync(results)).Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(',')).ToList();
        lines[0].Should().Equal("row", "caseReference", "status", "checkId", "outcome", "servedFrom", "checkedAt", "validUntil", "confirmedBy", "auditSequence", "rule", "errors");
        lines.Skip(1).Select(l => (l[0], l[1], l[2], l[4])).Should().Equal(
            ("1", "FSM-1", "completed", "eligible"),
            ("2", "FSM-2", "completed", "not-eligible"),
            ("3", "", "invalid", ""),
            ("4", "FSM-4", "completed", "not-found"),
            ("5", "FSM-5", "completed", "eligible"));
        lines[3][11].Should().StartWith("dateOfBirth: ");
    }

    [Fact]
    public async Task BulkCheck_InterruptedWithSigint_CancelsTheJobAtTheGatewayAndExitsNonZero()
    {
        await sandbox.SetFaultsAsync("dwp", new { latencyMilliseconds = 300 });
        var rows = new StringBuilder(Header);
        for (var i = 20_001; i <= 20_600; i++)
        {
            rows.Append(CultureInfo.InvariantCulture, $"SIGINT-{i},{BulkHttp.NiNumber(i)},,Bulk,1980-06-15\r\n");
        }

        var input = await WriteAsync("caseload.csv", rows.ToString());
        var results = Path.Combine(workspace, "never.csv");
        using var egw = Egw.Start(sandbox, "leeds-sandbox-secret", "--file", input, "--out", results);
        var id = await egw.JobIdAsync(TimeSpan.FromSeconds(30));
        var token = await sandbox.TokenAsync();
        (await BulkHttp.WaitForAsync(sandbox, token, id, s => s.GetProperty("completed").GetInt32() > 0)).Dispose();

        egw.Interrupt();
        var exit = await egw.WaitAsync(TimeSpan.FromSeconds(30));

        exit.Should().Be(130, egw.Transcript);
        egw.Error.Should().Contain($"egw: cancelled bulk check {id} at the gateway (cancelled)");
        using var status = await BulkHttp.WaitForAsync(sandbox, token, id, s => s.GetProperty("pending").GetInt32() == 0);
        status.RootElement.GetProperty("status").GetString().Should().Be("cancelled");
        status.RootElement.GetProperty("cancelled").GetInt32().Should().BeGreaterThan(0);
        File.Exists(results).Should().BeFalse("a cancelled job's results are not written");
    }

    [Fact]
    public async Task BulkCheck_WithAWrongSecret_SaysTheCredentialsWereRefusedAndExitsOne()
    {
        var input = await WriteAsync("one.csv", Header + "FSM-1,AB123456C,,Smith,1990-01-01\r\n");

        using var egw = Egw.Start(sandbox, "not-the-secret", "--file", input, "--out", Path.Combine(workspace, "out.csv"));
        var exit = await egw.WaitAsync(TimeSpan.FromSeconds(30));

        exit.Should().Be(1, egw.Transcript);
        egw.Error.Should().Contain("egw: the gateway refused the client credentials of 'leeds'");
        egw.Transcript.Should().NotContain("not-the-secret");
        File.Exists(Path.Combine(workspace, "out.csv")).Should().BeFalse();
    }

    [Fact]
    public async Task BulkCheck_WithoutASecret_IsAUsageError()
    {
        var input = await WriteAsync("one.csv", Header + "FSM-1,AB123456C,,Smith,1990-01-01\r\n");

        using var egw = Egw.Start(sandbox, secret: null, "--file", input, "--out", Path.Combine(workspace, "out.csv"));
        var exit = await egw.WaitAsync(TimeSpan.FromSeconds(30));

        exit.Should().Be(2, egw.Transcript);
        egw.Error.Should().Contain("EGW_CLIENT_SECRET");
    }

    [Fact]
    public async Task BulkCheck_AFileTheGatewayRefusesWhole_PrintsEachRowAndFieldAndExitsOne()
    {
        var input = await WriteAsync("bad.csv", Header + "FSM-1,NOT-AN-NI,,Smith,1990-01-01\r\n,AB123456C,,Smith,1990-01-01\r\n");

        using var egw = Egw.Start(sandbox, "leeds-sandbox-secret", "--file", input, "--out", Path.Combine(workspace, "out.csv"));
        var exit = await egw.WaitAsync(TimeSpan.FromSeconds(30));

        exit.Should().Be(1, egw.Transcript);
        egw.Error.Should().Contain("egw: the gateway refused the file (400)")
            .And.Contain("row 1: nationalInsuranceNumber: ")
            .And.Contain("row 2: caseReference: ");
        egw.Transcript.Should().NotContain("NOT-AN-NI");
    }

    private async Task<string> WriteAsync(string name, string text)
    {
        var path = Path.Combine(workspace, name);
        await File.WriteAllTextAsync(path, text);
        return path;
    }

    /// <summary><c>egw</c> (the built <c>egw.dll</c> beside the tests) as its own process, output redirected.</summary>
    private sealed class Egw : IDisposable
    {
        private readonly Process process;
        private readonly StringBuilder output = new();
        private readonly StringBuilder error = new();

        private Egw(Process process) => this.process = process;

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

        public string Error
        {
            get
            {
                lock (error)
                {
                    return error.ToString();
                }
            }
        }

        public string Transcript => $"stdout:\n{Output}\nstderr:\n{Error}";

        public static Egw Start(SandboxFixture sandbox, string? secret, params string[] args)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = AppContext.BaseDirectory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "egw.dll"));
            foreach (var arg in (string[])["bulk", "check", "--scheme", "free-school-meals", "--gateway", sandbox.Gateway("/").ToString(), "--client-id", "leeds", "--poll-interval", "00:00:00.100", .. args])
            {
                start.ArgumentList.Add(arg);
            }

            // The secret from the environment, as an operator is told to give it.
            start.Environment[EligibilityGateway.Cli.BulkCheckCommand.SecretVariable] = secret;
            var egw = new Egw(Process.Start(start)!);
            egw.process.OutputDataReceived += (_, e) => Append(egw.output, e.Data);
            egw.process.ErrorDataReceived += (_, e) => Append(egw.error, e.Data);
            egw.process.BeginOutputReadLine();
            egw.process.BeginErrorReadLine();
            return egw;
        }

        public async Task<int> WaitAsync(TimeSpan within)
        {
            using var deadline = new CancellationTokenSource(within);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"egw did not exit within {within}.\n{Transcript}");
            }

            process.WaitForExit(); // drains the redirected output
            return process.ExitCode;
        }

        /// <summary>The bulk check id egw prints once the gateway has accepted the file.</summary>
        public async Task<string> JobIdAsync(TimeSpan within)
        {
            var waited = Stopwatch.StartNew();
            while (waited.Elapsed < within)
            {
                var match = System.Text.RegularExpressions.Regex.Match(Output, "^bulk check ([0-9a-f-]{36}): ", System.Text.RegularExpressions.RegexOptions.Multiline);
                if (match.Success)
                {
                    return match.Groups[1].Value;
                }

                if (process.HasExited)
                {
                    break;
                }

                await Task.Delay(50);
            }

            throw new TimeoutException($"egw printed no bulk check id.\n{Transcript}");
        }

        /// <summary>Ctrl-C, as a terminal sends it: SIGINT to the process.</summary>
        public void Interrupt()
        {
            using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-s", "INT", process.Id.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
            kill.WaitForExit();
            kill.ExitCode.Should().Be(0);
        }

        public void Dispose()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            process.Dispose();
        }

        private static void Append(StringBuilder buffer, string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (buffer)
            {
                buffer.Append(line).Append('\n');
            }
        }
    }
}
