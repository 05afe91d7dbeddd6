using System.CommandLine;
using System.Globalization;
using System.Text;
using EligibilityGateway.Audit;
using EligibilityGateway.Security;
using EligibilityGateway.TrustFramework;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Cli;

/// <summary>
/// The <c>egw</c> commands. Each is a few lines over the gateway's own code (verifier, export, trust-framework loader),
/// so the tool checks exactly what the gateway enforces.
/// </summary>
internal static class EgwCommandLine
{
    /// <summary>Success; for <c>audit verify</c>, the log verified.</summary>
    public const int Ok = 0;

    /// <summary><c>audit verify</c>: the log has been altered; <c>trust-framework validate</c>: the file is invalid; <c>audit purge</c>: the purge failed.</summary>
    public const int Failed = 1;

    /// <summary>The command line was wrong, or a named file could not be read.</summary>
    public const int UsageError = 2;

    /// <summary>Parses and runs <paramref name="args"/>, writing to <paramref name="console"/>; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, EgwConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(console);
        var root = Build(console);
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                await console.Error.WriteLineAsync(error.Message);
            }

            await console.Error.WriteLineAsync("Run 'egw --help' for usage.");
            return UsageError;
        }

        return await parsed.InvokeAsync(new InvocationConfiguration
        {
            Output = console.Out,
            Error = console.Error,

            // Program handles Ctrl-C by cancelling the token, and egw bulk check then cancels its job at the gateway:
            // System.CommandLine's own handler would end the process before that request is made.
            ProcessTerminationTimeout = null,
        }, cancellationToken);
    }

    private static RootCommand Build(EgwConsole console)
    {
        var root = new RootCommand("Eligibility Gateway operator tool: verify, export and purge the audit log, validate a trust framework, run a council's bulk check.");
        root.Add(AuditCommand(console));
        root.Add(TrustFrameworkCommand(console));
        root.Add(BulkCheckCommand.Build(console));
        return root;
    }

    private static Command AuditCommand(EgwConsole console)
    {
        var database = new Option<FileInfo?>("--database") { Description = "The SQLite audit database (a copy is fine; it is opened read-only)." };
        var verifyPostgres = new Option<string?>("--postgres") { Description = "An Npgsql connection string, when the log (or a restored backup of it) is in PostgreSQL (instead of --database); only read." };
        var jwks = new Option<FileInfo>("--jwks") { Description = "The public audit keys as a JWK Set, as served at /v1/audit/jwks.", Required = true };
        var verify = new Command("verify", "Recompute the hash chain and check every signed checkpoint. Exit code 0 valid, 1 altered, 2 usage error.")
        {
            database,
            verifyPostgres,
            jwks,
        };
        verify.SetAction((result, cancellationToken) => VerifyAsync(result.GetValue(database), result.GetValue(verifyPostgres), result.GetRequiredValue(jwks), console, cancellationToken));

        var exportDatabase = new Option<FileInfo>("--database") { Description = "The SQLite audit database (opened read-only).", Required = true };
        var format = new Option<string>("--format") { Description = "csv (RFC 4180) or jsonl (one JSON object per line).", Required = true };
        format.AcceptOnlyFromAmong([.. AuditExport.Formats]);
        var output = new Option<FileInfo?>("--output") { Description = "Write to this file instead of standard output." };
        var export = new Command("export", "Stream every audit record, hash included, as CSV or JSON lines.")
        {
            exportDatabase,
            format,
            output,
        };
        export.SetAction((result, cancellationToken) => ExportAsync(result.GetRequiredValue(exportDatabase), result.GetRequiredValue(format), result.GetValue(output), console, cancellationToken));

        var purgeDatabase = new Option<FileInfo?>("--database") { Description = "The SQLite audit database the gateway writes (opened for writing; the gateway may be running)." };
        var purgePostgres = new Option<string?>("--postgres") { Description = "An Npgsql connection string, when the log is in PostgreSQL (instead of --database)." };
        var keys = new Option<DirectoryInfo>("--keys") { Description = "The gateway's key directory: the purge event is appended to the chain, and checkpoints that fall due are signed with the active audit key.", Required = true };
        var activeAuditKey = new Option<string?>("--active-audit-key") { Description = "The kid of the active audit key, as Keys:ActiveAuditSigningKeyId (default: the key in audit-signing.json)." };
        var framework = new Option<FileInfo>("--trust-framework") { Description = "The trust framework in force: each scheme's audit_retention decides what has expired.", Required = true };
        var purge = new Command("purge", "Remove records past their scheme's audit_retention, up to a signed checkpoint, and record the purge in the log. Exit code 0 (purged or nothing to purge), 1 failed, 2 usage error.")
        {
            purgeDatabase,
            purgePostgres,
            keys,
            activeAuditKey,
            framework,
        };
        purge.SetAction((result, cancellationToken) => PurgeAsync(
            result.GetValue(purgeDatabase), result.GetValue(purgePostgres), result.GetRequiredValue(keys), result.GetValue(activeAuditKey), result.GetRequiredValue(framework), console, cancellationToken));

        return new Command("audit", "Work with an audit log.") { verify, export, purge };
    }

    private static Command TrustFrameworkCommand(EgwConsole console)
    {
        var file = new Argument<FileInfo>("FILE") { Description = "The trust-framework YAML file." };
        var validate = new Command("validate", "Load a trust framework as the gateway would; print every error as file:line:column: field: message. Exit code 0 valid, 1 invalid.")
        {
            file,
        };
        validate.SetAction((result, cancellationToken) => ValidateAsync(result.GetRequiredValue(file), console));
        return new Command("trust-framework", "Work with a trust-framework file.") { validate };
    }

    private static async Task<int> VerifyAsync(FileInfo? database, string? postgres, FileInfo jwksFile, EgwConsole console, CancellationToken cancellationToken)
    {
        if ((database is null) == string.IsNullOrWhiteSpace(postgres))
        {
            await console.Error.WriteLineAsync("egw: give exactly one of --database and --postgres.");
            return UsageError;
        }

        IAuditStore? store;
        string location;
        if (database is not null)
        {
            store = await OpenStoreAsync(database, console);
            location = database.ToString();
        }
        else
        {
            try
            {
                // Never initialised and without a checkpoint issuer: it only reads, so verifying changes nothing.
                var postgresStore = new PostgresAuditStore(postgres!, TimeSpan.FromSeconds(5), TimeProvider.System, NullLogger.Instance);
                store = postgresStore;
                location = postgresStore.Location;
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException)
            {
                // The connection string is a secret: say what is wrong, not what it was.
                await console.Error.WriteLineAsync("egw: --postgres is not a valid Npgsql connection string.");
                return UsageError;
            }
        }

        if (store is null)
        {
            return UsageError;
        }

        await using (store)
        {
            AuditCheckpointVerifier keys;
            try
            {
                keys = new AuditCheckpointVerifier(await File.ReadAllTextAsync(jwksFile.FullName, cancellationToken));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
            {
                await console.Error.WriteLineAsync($"egw: cannot use the key set '{jwksFile}': {ex.Message}");
                return UsageError;
            }

            AuditVerification result;
            try
            {
                result = await AuditVerifier.VerifyAsync(store, keys, cancellationToken);
            }
            catch (AuditUnavailableException ex)
            {
                await console.Error.WriteLineAsync($"egw: cannot read the audit database '{location}': {ex.Message}");
                return UsageError;
            }

            await console.Out.WriteLineAsync(AuditVerification.Describe(result));
            return result is AuditVerification.Valid ? Ok : Failed;
        }
    }

    private static async Task<int> ExportAsync(FileInfo database, string format, FileInfo? outputFile, EgwConsole console, CancellationToken cancellationToken)
    {
        if (await OpenStoreAsync(database, console) is not { } store)
        {
            return UsageError;
        }

        await using (store)
        {
            Stream output;
            try
            {
                output = outputFile is null ? console.OpenStandardOutput() : new FileStream(outputFile.FullName, PrivateExportFile());
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await console.Error.WriteLineAsync($"egw: cannot write '{outputFile}': {ex.Message}");
                return UsageError;
            }

            await using (output)
            {
                try
                {
                    var rows = store.ReadChainAsync(1, cancellationToken);
                    var count = format == "csv"
                        ? await WriteCsvAsync(rows, output, cancellationToken)
                        : await AuditExport.WriteJsonLinesAsync(rows, output, cancellationToken);
                    if (outputFile is not null)
                    {
                        await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{count} records written to {outputFile}"));
                    }
                }
                catch (AuditUnavailableException ex)
                {
                    await console.Error.WriteLineAsync($"egw: cannot read the audit database '{database}': {ex.Message}");
                    return UsageError;
                }
            }
        }

        return Ok;
    }

    private static async Task<long> WriteCsvAsync(IAsyncEnumerable<AuditChainRow> rows, Stream output, CancellationToken cancellationToken)
    {
        await using var writer = new StreamWriter(output, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 1 << 16, leaveOpen: true);
        return await AuditExport.WriteCsvAsync(rows, writer, cancellationToken);
    }

    private static async Task<int> PurgeAsync(
        FileInfo? database, string? postgres, DirectoryInfo keys, string? activeAuditKey, FileInfo frameworkFile, EgwConsole console, CancellationToken cancellationToken)
    {
        if ((database is null) == string.IsNullOrWhiteSpace(postgres))
        {
            await console.Error.WriteLineAsync("egw: give exactly one of --database and --postgres.");
            return UsageError;
        }

        if (database is { Exists: false })
        {
            // Never create a log here: a missing file is an incident, not an empty log to purge.
            await console.Error.WriteLineAsync($"egw: no such file '{database}'");
            return UsageError;
        }

        if (!frameworkFile.Exists)
        {
            await console.Error.WriteLineAsync($"egw: no such file '{frameworkFile}'");
            return UsageError;
        }

        var loaded = TrustFrameworkLoader.LoadFile(frameworkFile.FullName, frameworkFile.ToString());
        if (loaded.Definition is not { } definition)
        {
            foreach (var error in loaded.Errors)
            {
                await console.Error.WriteLineAsync(error.ToString());
            }

            return UsageError;
        }

        // The gateway's own composition of the log (writer, chain, checkpoints), so the purge event is appended exactly
        // as the gateway appends any record, alongside a running gateway.
        var settings = new Dictionary<string, string?>
        {
            ["Keys:Directory"] = keys.FullName,
            ["Keys:ActiveAuditSigningKeyId"] = activeAuditKey,
            ["Audit:Sqlite:Path"] = database?.FullName,
            ["Audit:Postgres:ConnectionString"] = postgres,
        };
        var services = new ServiceCollection();
        services.AddLogging();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddKeyRing();
        services.AddAuditTrail(configuration);
        await using var provider = services.BuildServiceProvider();
        try
        {
            await provider.GetRequiredService<AuditLog>().OpenAsync(cancellationToken);
            var result = await provider.GetRequiredService<AuditPurger>().PurgeAsync(definition, cancellationToken);
            await console.Out.WriteLineAsync(AuditPurgeResult.Describe(result));
            return Ok;
        }
        catch (Exception ex) when (ex is AuditUnavailableException or InvalidOperationException or KeyRingException or OptionsValidationException)
        {
            await console.Error.WriteLineAsync($"egw: the purge failed: {ex.Message}");
            return Failed;
        }
    }

    private static async Task<int> ValidateAsync(FileInfo file, EgwConsole console)
    {
        if (!file.Exists)
        {
            await console.Error.WriteLineAsync($"egw: no such file '{file}'");
            return UsageError;
        }

        // Errors name the file as the operator typed it, so that an editor can jump to file:line:column.
        var result = TrustFrameworkLoader.LoadFile(file.FullName, file.ToString());
        if (result.Definition is { } definition)
        {
            await console.Out.WriteLineAsync($"{file}: valid: trust framework {definition.Id} version {definition.Version}, {definition.Councils.Length} councils, {definition.Schemes.Length} schemes, {definition.Permissions.Length} permissions");
            return Ok;
        }

        foreach (var error in result.Errors)
        {
            await console.Error.WriteLineAsync(error.ToString());
        }

        return Failed;
    }

    /// <summary>An export holds the audit trail (a bulk check's results, a council's case references and outcomes): the owner's alone, as the database it came from (Security/PrivateFiles.cs).</summary>
    internal static FileStreamOptions PrivateExportFile()
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 1 << 16, Options = FileOptions.Asynchronous };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateFiles.FileMode;
        }

        return options;
    }

    private static async Task<SqliteAuditStore?> OpenStoreAsync(FileInfo database, EgwConsole console)
    {
        if (!database.Exists)
        {
            await console.Error.WriteLineAsync($"egw: no such file '{database}'");
            return null;
        }

        // Without a checkpoint issuer and never initialised: the store only reads, so verifying changes nothing.
        return new SqliteAuditStore(database.FullName, TimeSpan.FromSeconds(5), TimeProvider.System, NullLogger.Instance);
    }
}

/// <summary>Where <c>egw</c> writes: the process's console, or a test's buffers.</summary>
internal sealed record EgwConsole(TextWriter Out, TextWriter Error, Func<Stream> OpenStandardOutput)
{
    public static EgwConsole System { get; } = new(Console.Out, Console.Error, Console.OpenStandardOutput);
}
