using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Spectre.Console;

namespace EligibilityGateway.Cli;

/// <summary>
/// <c>egw bulk check</c>: a council's bulk check from a CSV file (<c>POST /v1/bulk-checks</c>,
/// src/EligibilityGateway/BulkChecks/README.md), followed to the end with a live progress bar, its results downloaded as
/// CSV. Ctrl-C cancels the job at the gateway (<c>DELETE</c>) before exiting.
/// </summary>
internal static class BulkCheckCommand
{
    /// <summary>Where the client secret is read from when <c>--client-secret</c> is not given.</summary>
    public const string SecretVariable = "EGW_CLIENT_SECRET";

    /// <summary>The job was cancelled by Ctrl-C (SIGINT): 128 + 2, as a shell reports a process interrupted by it.</summary>
    public const int Interrupted = 130;

    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public static Command Build(EgwConsole console)
    {
        var file = new Option<FileInfo>("--file") { Description = "The CSV file: header row caseReference,nationalInsuranceNumber,nationalAsylumSeekerServiceNumber,lastName,dateOfBirth.", Required = true };
        var scheme = new Option<string>("--scheme") { Description = "The scheme every row is checked for, e.g. free-school-meals.", Required = true };
        var lawfulBasis = new Option<string>("--lawful-basis") { Description = "The lawful basis for every row (a bulk check is not made under consent).", DefaultValueFactory = _ => "public-task" };
        var gateway = new Option<string>("--gateway") { Description = "The gateway's base address, e.g. https://gateway.example.gov.uk.", Required = true };
        var clientId = new Option<string>("--client-id") { Description = "The council's OAuth client id.", Required = true };
        var clientSecret = new Option<string?>("--client-secret") { Description = $"The council's client secret; better from the environment variable {SecretVariable}, which a process list does not show." };
        var output = new Option<FileInfo>("--out") { Description = "Where to write the results CSV (one row per uploaded row, in order).", Required = true };
        var poll = new Option<TimeSpan>("--poll-interval") { Description = "How often to read the job's progress.", DefaultValueFactory = _ => TimeSpan.FromMilliseconds(500) };
        var check = new Command("check", $"Check every person in a CSV file, show progress, write the results CSV. Exit code 0 done, 1 refused or failed, 2 usage error, {Interrupted} cancelled by Ctrl-C.")
        {
            file, scheme, lawfulBasis, gateway, clientId, clientSecret, output, poll,
        };
        check.SetAction((result, cancellationToken) => RunAsync(
            new BulkCheckArguments(
                result.GetRequiredValue(file),
                result.GetRequiredValue(scheme),
                result.GetRequiredValue(lawfulBasis),
                result.GetRequiredValue(gateway),
                result.GetRequiredValue(clientId),
                result.GetValue(clientSecret) ?? Environment.GetEnvironmentVariable(SecretVariable),
                result.GetRequiredValue(output),
                result.GetRequiredValue(poll)),
            console,
            cancellationToken));
        return new Command("bulk", "Bulk checks at a gateway, as a council.") { check };
    }

    private static async Task<int> RunAsync(BulkCheckArguments args, EgwConsole console, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(args.ClientSecret))
        {
            await console.Error.WriteLineAsync($"egw: give the client secret in {SecretVariable} (or --client-secret).");
            return EgwCommandLine.UsageError;
        }

        if (!Uri.TryCreate(args.Gateway, UriKind.Absolute, out var gateway) || gateway.Scheme is not ("https" or "http") || !string.IsNullOrEmpty(gateway.UserInfo))
        {
            await console.Error.WriteLineAsync("egw: --gateway must be an http(s) address without credentials in it.");
            return EgwCommandLine.UsageError;
        }

        if (args.PollInterval < TimeSpan.FromMilliseconds(50))
        {
            await console.Error.WriteLineAsync("egw: --poll-interval must be at least 50 ms.");
            return EgwCommandLine.UsageError;
        }

        byte[] body;
        try
        {
            body = await File.ReadAllBytesAsync(args.File.FullName, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await console.Error.WriteLineAsync($"egw: cannot read '{args.File}': {ex.Message}");
            return EgwCommandLine.UsageError;
        }

        using var http = CouncilHttpClient.Create(gateway, args.ClientId, args.ClientSecret!, TimeProvider.System, out var credentials);
        try
        {
            await credentials.AcquireAsync(cancellationToken);
        }
        catch (GatewayException ex)
        {
            await console.Error.WriteLineAsync($"egw: {ex.Message}");
            return EgwCommandLine.Failed;
        }
        catch (HttpRequestException ex)
        {
            await console.Error.WriteLineAsync($"egw: cannot reach the gateway at {args.Gateway}: {ex.Message}");
            return EgwCommandLine.Failed;
        }

        BulkStatus? submitted;
        try
        {
            submitted = await SubmitAsync(http, args, body, console, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or GatewayException)
        {
            // Not retried: the gateway may have accepted the file before the connection failed.
            await console.Error.WriteLineAsync($"egw: the file may not have been submitted: {ex.Message}");
            return EgwCommandLine.Failed;
        }

        if (submitted is null)
        {
            return EgwCommandLine.Failed;
        }

        await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"bulk check {submitted.BulkCheckId}: {submitted.Total} rows, {submitted.Invalid} rejected"));
        foreach (var rejected in submitted.RejectedRows ?? [])
        {
            await console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"row {rejected.Row}: {rejected.Field}: {rejected.Message}"));
        }

        BulkStatus final;
        try
        {
            final = await FollowAsync(http, submitted, args.PollInterval, console, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return await CancelAsync(http, submitted.BulkCheckId, console);
        }
        catch (GatewayException ex)
        {
            await console.Error.WriteLineAsync($"egw: {ex.Message}");
            return EgwCommandLine.Failed;
        }
        catch (HttpRequestException ex)
        {
            // Retried for about half a minute before this: the gateway is gone, not restarting. The job goes on there.
            await console.Error.WriteLineAsync($"egw: lost the gateway while following bulk check {submitted.BulkCheckId}: {ex.Message}; the job goes on at the gateway (GET /v1/bulk-checks/{submitted.BulkCheckId}).");
            return EgwCommandLine.Failed;
        }

        await console.Out.WriteLineAsync(Summary(final));
        if (final.Status != "completed")
        {
            await console.Error.WriteLineAsync($"egw: bulk check {final.BulkCheckId} was {final.Status} at the gateway.");
            return EgwCommandLine.Failed;
        }

        try
        {
            await DownloadAsync(http, final, args.Output, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await console.Error.WriteLineAsync("egw: interrupted before the results were written; the job is complete at the gateway.");
            return Interrupted;
        }
        catch (Exception ex) when (ex is GatewayException or HttpRequestException or IOException or UnauthorizedAccessException)
        {
            await console.Error.WriteLineAsync($"egw: cannot write the results to '{args.Output}': {ex.Message}");
            return EgwCommandLine.Failed;
        }

        await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"results written to {args.Output}"));
        return EgwCommandLine.Ok;
    }

    private static async Task<BulkStatus?> SubmitAsync(HttpClient http, BulkCheckArguments args, byte[] body, EgwConsole console, CancellationToken cancellationToken)
    {
        var path = $"/v1/bulk-checks?scheme={Uri.EscapeDataString(args.Scheme)}&lawfulBasis={Uri.EscapeDataString(args.LawfulBasis)}";
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv") { CharSet = "utf-8" };
        using var response = await http.PostAsync(path, content, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode == HttpStatusCode.Accepted && TryDeserialize<BulkStatus>(text) is { } status)
        {
            return status;
        }

        await console.Error.WriteLineAsync($"egw: the gateway refused the file ({(int)response.StatusCode}): {Describe(text)}");
        if (TryDeserialize<Problem>(text)?.Errors is { } errors)
        {
            foreach (var (field, messages) in errors)
            {
                foreach (var message in messages)
                {
                    await console.Error.WriteLineAsync($"{RowField(field)}: {message}");
                }
            }
        }

        return null;
    }

    /// <summary>Polls the status resource under a Spectre.Console progress bar until the job is finished.</summary>
    private static async Task<BulkStatus> FollowAsync(HttpClient http, BulkStatus submitted, TimeSpan interval, EgwConsole console, CancellationToken cancellationToken)
    {
        // On a terminal a live bar; otherwise (redirected, CI) Spectre writes plain lines as the bar advances.
        var terminal = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(console.Out),
            Ansi = AnsiSupport.Detect,
            ColorSystem = ColorSystemSupport.Detect,
            Interactive = InteractionSupport.Detect,
        });
        var status = submitted;
        if (!terminal.Profile.Capabilities.Interactive || !terminal.Profile.Capabilities.Ansi)
        {
            // Not a terminal (redirected, CI): one plain line each time the counts change, with the ETA, instead of a bar
            // (Spectre's own fallback only prints at percentage steps, which a short job may never show).
            var started = Stopwatch.StartNew();
            var startedAt = submitted.Settled;
            string? last = null;
            while (true)
            {
                var line = Counts(status) + Eta(status, started.Elapsed, startedAt);
                if (line != last)
                {
                    await console.Out.WriteLineAsync(line);
                    last = line;
                }

                if (status.Status is "completed" or "cancelled")
                {
                    return status;
                }

                await Task.Delay(interval, cancellationToken);
                status = await ReadStatusAsync(http, status.BulkCheckId, cancellationToken);
            }
        }

        await terminal.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Counts(status), maxValue: Math.Max(1, status.Total));
                while (true)
                {
                    task.Value = status.Settled;
                    task.Description = Counts(status);
                    if (status.Status is "completed" or "cancelled")
                    {
                        task.StopTask();
                        return;
                    }

                    await Task.Delay(interval, cancellationToken);
                    status = await ReadStatusAsync(http, status.BulkCheckId, cancellationToken);
                }
            });
        return status;
    }

    private static async Task<BulkStatus> ReadStatusAsync(HttpClient http, string id, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync($"/v1/bulk-checks/{id}", cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return response.IsSuccessStatusCode && TryDeserialize<BulkStatus>(text) is { } read
            ? read
            : throw new GatewayException($"cannot read the progress of bulk check {id} ({(int)response.StatusCode}): {Describe(text)}");
    }

    /// <summary>The time left at the rate rows have settled since egw started following the job.</summary>
    private static string Eta(BulkStatus status, TimeSpan elapsed, int settledAtStart)
    {
        var done = status.Settled - settledAtStart;
        if (status.Status is "completed" or "cancelled" || done <= 0 || elapsed <= TimeSpan.Zero)
        {
            return "";
        }

        var left = TimeSpan.FromSeconds(Math.Ceiling((status.Total - status.Settled) * elapsed.TotalSeconds / done));
        return string.Create(CultureInfo.InvariantCulture, $" (about {left:c} left)");
    }

    /// <summary>Ctrl-C: cancel the job at the gateway (items not yet started are not checked) and say so.</summary>
    private static async Task<int> CancelAsync(HttpClient http, string id, EgwConsole console)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            using var response = await http.DeleteAsync($"/v1/bulk-checks/{id}", deadline.Token);
            var text = await response.Content.ReadAsStringAsync(deadline.Token);
            if (response.IsSuccessStatusCode && TryDeserialize<BulkStatus>(text) is { } status)
            {
                await console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"egw: cancelled bulk check {id} at the gateway ({status.Status}): {status.Completed} checked, {status.Pending + status.Cancelled} not checked; no results written."));
                return Interrupted;
            }

            await console.Error.WriteLineAsync($"egw: interrupted, but the gateway did not cancel bulk check {id} ({(int)response.StatusCode}): {Describe(text)}");
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            await console.Error.WriteLineAsync($"egw: interrupted, but could not cancel bulk check {id} at the gateway: {ex.Message}");
        }

        return EgwCommandLine.Failed;
    }

    private static async Task DownloadAsync(HttpClient http, BulkStatus status, FileInfo output, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync($"/v1/bulk-checks/{status.BulkCheckId}/export?format=csv", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new GatewayException($"the gateway answered {(int)response.StatusCode} to the download");
        }

        await using var source = await response.Content.ReadAsStreamAsync(cancellationToken);
        await using var file = new FileStream(output.FullName, EgwCommandLine.PrivateExportFile());
        await source.CopyToAsync(file, cancellationToken);
    }

    private static string Counts(BulkStatus s) => string.Create(CultureInfo.InvariantCulture,
        $"{s.Status} {s.Settled}/{s.Total}: eligible {s.Outcomes.Eligible}, not eligible {s.Outcomes.NotEligible}, not found {s.Outcomes.NotFound}, undetermined {s.Outcomes.Undetermined}, failed {s.Failed}, invalid {s.Invalid}");

    private static string Summary(BulkStatus s) => string.Create(CultureInfo.InvariantCulture,
        $"bulk check {s.BulkCheckId} {s.Status}: {s.Total} rows: eligible {s.Outcomes.Eligible}, not eligible {s.Outcomes.NotEligible}, not found {s.Outcomes.NotFound}, undetermined {s.Outcomes.Undetermined}, failed {s.Failed}, invalid {s.Invalid}, cancelled {s.Cancelled}");

    /// <summary>A refused upload's <c>rows[3].dateOfBirth</c> as <c>row 3: dateOfBirth</c>.</summary>
    private static string RowField(string key)
    {
        if (key.StartsWith("rows[", StringComparison.Ordinal) && key.IndexOf("].", StringComparison.Ordinal) is var end and > 5)
        {
            return $"row {key[5..end]}: {key[(end + 2)..]}";
        }

        return key;
    }

    private static string Describe(string problem) =>
        TryDeserialize<Problem>(problem) is { } p && (p.Title ?? p.Detail) is not null ? $"{p.Title} {p.Detail}".Trim() : "no problem document";

    private static T? TryDeserialize<T>(string text)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(text, Web);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record BulkCheckArguments(
        FileInfo File, string Scheme, string LawfulBasis, string Gateway, string ClientId, string? ClientSecret, FileInfo Output, TimeSpan PollInterval);

    private sealed record Problem(string? Title, string? Detail, Dictionary<string, string[]>? Errors);

    private sealed record Outcomes(int Eligible, int NotEligible, int NotFound, int Undetermined);

    private sealed record RejectedRow(int Row, string Field, string Message);

    private sealed record BulkStatus(
        string BulkCheckId, string Status, int Total, int Pending, int Completed, int Failed, int Invalid, int Cancelled, Outcomes Outcomes, List<RejectedRow>? RejectedRows)
    {
        public int Settled => Completed + Failed + Invalid + Cancelled;
    }
}
