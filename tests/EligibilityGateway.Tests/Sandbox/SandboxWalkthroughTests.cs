using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace EligibilityGateway.Tests.Sandbox;

/// <summary>
/// The walkthrough the sandbox prints at start, followed as a newcomer would: the sandbox executable is started, every
/// command it prints is run with <c>/bin/sh</c> exactly as printed (addresses included), in order, and each is checked
/// to do what the text around it says.
/// </summary>
public sealed class SandboxWalkthroughTests : IDisposable
{
    private readonly string dataDirectory = Directory.CreateTempSubdirectory("egw-walkthrough-").FullName;

    public void Dispose() => Directory.Delete(dataDirectory, recursive: true);

    [Fact]
    public async Task EveryPrintedCommand_RunInOrder_DoesWhatTheWalkthroughSays()
    {
        File.Exists("/bin/sh").Should().BeTrue("the commands are shell lines");
        using var process = SandboxHostTests.StartSandbox("--gateway-url", "http://127.0.0.1:0", "--mock-url", "http://127.0.0.1:0", "--data-dir", dataDirectory);
        try
        {
            var printed = await ReadWalkthroughAsync(process, TimeSpan.FromSeconds(60));
            var commands = Commands(printed);

            commands.Should().HaveCount(5, "the walkthrough prints a token request, Smith's check, DWP's outage, Jones's check and DWP's reset:\n" + printed);
            commands[0].Should().StartWith("TOKEN=$(curl ");
            commands[1].Should().Contain("\"lastName\":\"Smith\"");
            commands[2].Should().Contain("-X PUT").And.Contain("/_control/providers/dwp").And.Contain("\"outage\":true");
            commands[3].Should().Contain("\"lastName\":\"Jones\"");
            commands[4].Should().Contain("-X DELETE").And.Contain("/_control/providers/dwp");

            // 1. The token, as the shell variable the later commands use.
            var token = await RunAsync(commands[0] + "\nprintf '%s' \"$TOKEN\"", null);
            token.Should().MatchRegex(@"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$", "step 1 leaves an access token (a JWT) in $TOKEN");

            // 2. "Ask twice: the first answer is live from the mock DWP, the second comes from the cache."
            var smith = Answer(await RunAsync(commands[1], token));
            var smithAgain = Answer(await RunAsync(commands[1], token));
            (smith.Outcome, smith.ServedFrom).Should().Be(("eligible", "live"));
            (smithAgain.Outcome, smithAgain.ServedFrom).Should().Be(("eligible", "cache"));

            // 3. "Take DWP down and ask about Jones: the answer is "undetermined", never "not-eligible"."
            (await RunAsync(commands[2], token)).Should().Contain("\"outage\":true");
            Answer(await RunAsync(commands[3], token)).Outcome.Should().Be("undetermined");

            // "Then bring DWP back and ask about Jones again (the same check): now the answer is "not-eligible"."
            (await RunAsync(commands[4], token)).Should().Contain("\"outage\":false");
            var jones = Answer(await RunAsync(commands[3], token));
            (jones.Outcome, jones.ServedFrom).Should().Be(("not-eligible", "live"));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>
    /// The shell commands of the walkthrough, in order: each starts on a line of its own with <c>curl</c> or a
    /// variable assignment, and goes on over the lines that a trailing backslash or an open single quote carries on to.
    /// </summary>
    private static List<string> Commands(string walkthrough)
    {
        var commands = new List<string>();
        StringBuilder? command = null;
        foreach (var line in walkthrough.Split('\n'))
        {
            var text = line.TrimEnd('\r');
            if (command is null)
            {
                var start = text.TrimStart();
                if (start.StartsWith("curl ", StringComparison.Ordinal) || start.StartsWith("TOKEN=", StringComparison.Ordinal))
                {
                    command = new StringBuilder(start);
                }
            }
            else
            {
                command.Append('\n').Append(text);
            }

            if (command is not null && !text.EndsWith('\\') && command.ToString().Count(c => c == '\'') % 2 == 0)
            {
                commands.Add(command.ToString());
                command = null;
            }
        }

        command.Should().BeNull("no printed command is left unfinished");
        return commands;
    }

    /// <summary>Runs <paramref name="command"/> with <c>/bin/sh</c>, with <c>$TOKEN</c> set when given; its standard output.</summary>
    private static async Task<string> RunAsync(string command, string? token)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        if (token is not null)
        {
            start.Environment["TOKEN"] = token;
        }

        using var shell = Process.Start(start)!;
        var output = shell.StandardOutput.ReadToEndAsync();
        var error = shell.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await shell.WaitForExitAsync(timeout.Token);
        shell.ExitCode.Should().Be(0, $"the command runs as printed:\n{command}\n{await error}");
        return await output;
    }

    private static (string? Outcome, string? ServedFrom) Answer(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        root.TryGetProperty("outcome", out var outcome).Should().BeTrue($"the check is answered: {json}");
        return (outcome.GetString(), root.GetProperty("servedFrom").GetString());
    }

    /// <summary>
    /// Standard output up to the walkthrough's last line. The rest is drained in the background, so that the sandbox's
    /// console log never fills the pipe and stops it.
    /// </summary>
    private static async Task<string> ReadWalkthroughAsync(Process process, TimeSpan timeout)
    {
        _ = process.StandardError.ReadToEndAsync();
        var text = new StringBuilder();
        using var cancellation = new CancellationTokenSource(timeout);
        while (await process.StandardOutput.ReadLineAsync(cancellation.Token) is { } line)
        {
            text.Append(line).Append('\n');
            if (line.Contains("Press Ctrl+C to stop.", StringComparison.Ordinal))
            {
                _ = process.StandardOutput.ReadToEndAsync();
                return text.ToString();
            }
        }

        throw new InvalidOperationException($"The sandbox exited without printing its walkthrough:\n{text}");
    }
}
