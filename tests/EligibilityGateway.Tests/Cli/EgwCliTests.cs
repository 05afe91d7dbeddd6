using System.Text;
using System.Text.Json;
using EligibilityGateway.Audit;
using EligibilityGateway.Cli;
using EligibilityGateway.Tests.Audit;
using EligibilityGateway.Tests.TrustFramework;
using Microsoft.Data.Sqlite;

namespace EligibilityGateway.Tests.Cli;

/// <summary><c>egw</c> run through its entry point in-process, on files the way an operator or auditor has them.</summary>
public sealed class EgwCliTests : IDisposable
{
    private readonly string workspace = Directory.CreateTempSubdirectory("egw-cli-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(workspace, recursive: true);
    }

    [Fact]
    public async Task AuditVerify_OnACopiedDatabaseWithOnlyThePublicKeySet_ExitsZeroAndSaysValid()
    {
        var (database, jwks) = await CopyOfAClosedLogAsync();

        var run = await RunAsync("audit", "verify", "--database", database, "--jwks", jwks);

        run.ExitCode.Should().Be(0, run.Error);
        run.Output.Should().StartWith($"valid: {AuditTampering.Records} records, last sequence {AuditTampering.Records}, last checkpoint at {AuditTampering.Records}");
    }

    [Theory]
    [MemberData(nameof(AuditTampering.Cases), MemberType = typeof(AuditTampering))]
    public async Task AuditVerify_AfterTampering_ExitsOneNamingTheFirstBadSequence(string tampering, long firstBadSequence)
    {
        var (database, jwks) = await CopyOfAClosedLogAsync();
        AuditTampering.Apply(tampering, database);

        var run = await RunAsync("audit", "verify", "--database", database, "--jwks", jwks);

        run.ExitCode.Should().Be(1, run.Output + run.Error);
        run.Output.Should().StartWith($"invalid at sequence {firstBadSequence}: ");
    }

    [Fact]
    public async Task AuditVerify_WithAForgedCheckpoint_ExitsOne()
    {
        var (database, jwks) = await CopyOfAClosedLogAsync();
        AuditTampering.ForgeCheckpoint(database, 10);

        var run = await RunAsync("audit", "verify", "--database", database, "--jwks", jwks);

        run.ExitCode.Should().Be(1);
        run.Output.Should().StartWith("invalid at sequence 10: ");
    }

    [Theory]
    [InlineData("audit", "verify", "--database", "{database}")]
    [InlineData("audit", "verify", "--database", "{missing}", "--jwks", "{jwks}")]
    [InlineData("audit", "verify", "--database", "{database}", "--jwks", "{database}")]
    [InlineData("audit", "verify", "--jwks", "{jwks}")]
    [InlineData("audit", "verify", "--database", "{database}", "--postgres", "Host=127.0.0.1;Database=audit", "--jwks", "{jwks}")]
    [InlineData("audit", "verify", "--postgres", "Host=127.0.0.1;Port=not-a-port", "--jwks", "{jwks}")]
    [InlineData("audit", "export", "--database", "{database}", "--format", "xml")]
    [InlineData("audit", "frobnicate")]
    public async Task Egw_OnAUsageError_ExitsTwoAndSaysWhy(params string[] args)
    {
        var (database, jwks) = await CopyOfAClosedLogAsync();
        var resolved = args.Select(a => a.Replace("{database}", database, StringComparison.Ordinal)
            .Replace("{jwks}", jwks, StringComparison.Ordinal)
            .Replace("{missing}", Path.Combine(workspace, "missing.db"), StringComparison.Ordinal)).ToArray();

        var run = await RunAsync(resolved);

        run.ExitCode.Should().Be(2, run.Output);
        run.Error.Should().NotBeEmpty();
    }

    [Fact]
    public async Task AuditExport_Csv_RoundTripsEveryColumnOfEveryRecord()
    {
        var database = await LogWithAwkwardTextAsync();
        var file = Path.Combine(workspace, "export.csv");

        var run = await RunAsync("audit", "export", "--database", database, "--format", "csv", "--output", file);

        run.ExitCode.Should().Be(0, run.Error);
        var parsed = ParseCsv(await File.ReadAllTextAsync(file));
        parsed[0].Should().Equal(AuditChain.AllColumns);
        var stored = await StoredRowsAsync(database);
        parsed.Skip(1).Should().HaveCount(stored.Count);
        for (var i = 0; i < stored.Count; i++)
        {
            parsed[i + 1].Should().Equal(stored[i], "record {0} must read back exactly as stored", i + 1);
        }
    }

    [Fact]
    public async Task AuditExport_Csv_WritesFormulaCaseReferencesQuotedBehindASingleQuote()
    {
        var database = await LogWithAwkwardTextAsync();
        var file = Path.Combine(workspace, "formulas.csv");

        var run = await RunAsync("audit", "export", "--database", database, "--format", "csv", "--output", file);

        run.ExitCode.Should().Be(0, run.Error);
        var text = await File.ReadAllTextAsync(file);
        foreach (var formula in FormulaCaseReferences)
        {
            text.Should().Contain($",\"'{formula.Replace("\"", "\"\"", StringComparison.Ordinal)}\",", "the case reference {0} is neutralised", formula);
        }

        text.Should().NotContain(",=").And.NotContain(",+").And.NotContain(",-").And.NotContain(",@").And.NotContain(",\t").And.NotContain(",\r");
    }

    [Fact]
    public async Task AuditExport_JsonLines_RoundTripsEveryColumnOfEveryRecord()
    {
        var database = await LogWithAwkwardTextAsync();
        var file = Path.Combine(workspace, "export.jsonl");

        var run = await RunAsync("audit", "export", "--database", database, "--format", "jsonl", "--output", file);

        run.ExitCode.Should().Be(0, run.Error);
        var lines = (await File.ReadAllTextAsync(file)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var stored = await StoredRowsAsync(database);
        lines.Should().HaveCount(stored.Count);
        for (var i = 0; i < stored.Count; i++)
        {
            using var line = JsonDocument.Parse(lines[i]);
            line.RootElement.EnumerateObject().Select(p => p.Name).Should().Equal(AuditChain.AllColumns);
            var values = line.RootElement.EnumerateObject().Select(p => p.Value.ValueKind switch
            {
                JsonValueKind.Null => null,
                JsonValueKind.Number => p.Value.GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => p.Value.GetString(),
            });
            values.Should().Equal(stored[i]);
        }

        line0IsNumber(lines[0]).Should().BeTrue("sequence is exported as a number");

        static bool line0IsNumber(string line)
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.GetProperty("sequence").ValueKind == JsonValueKind.Number;
        }
    }

    [Fact]
    public async Task AuditExport_WithoutOutput_WritesToStandardOutput()
    {
        var (database, _) = await CopyOfAClosedLogAsync();

        var run = await RunAsync("audit", "export", "--database", database, "--format", "jsonl");

        run.ExitCode.Should().Be(0, run.Error);
        run.StandardOutputBytes.Count(b => b == (byte)'\n').Should().Be(AuditTampering.Records);
    }

    [Fact]
    public async Task AuditPurge_OnALogPastItsRetention_PurgesUpToTheLastCheckpoint_ThenVerifyReportsThePurgedRangeAsValid()
    {
        // Written in 2019: older than the sandbox framework's six-year (P2190D) retention today.
        var audit = await AuditTestLog.CreateAsync(
            Path.Combine(workspace, "gateway"), AuditTampering.CheckpointEveryTen, timeProvider: new FakeTimeProvider(new DateTimeOffset(2019, 11, 1, 9, 0, 0, TimeSpan.Zero)));
        for (var i = 1; i <= 25; i++)
        {
            await audit.Log.AppendAsync(AuditTestLog.Check(i));
        }

        await audit.CloseAsync();
        SqliteConnection.ClearAllPools();
        var keys = Path.Combine(audit.Directory, "keys");
        var framework = Path.Combine(TrustFrameworkFiles.RepositoryRoot, "trust-frameworks", "sandbox.yaml");
        var jwks = Path.Combine(workspace, "audit.jwks.json");
        await File.WriteAllTextAsync(jwks, AuditTampering.PublicKeySet(keys));

        var purge = await RunAsync("audit", "purge", "--database", audit.DatabasePath, "--keys", keys, "--trust-framework", framework);
        var again = await RunAsync("audit", "purge", "--database", audit.DatabasePath, "--keys", keys, "--trust-framework", framework);
        SqliteConnection.ClearAllPools();
        var verify = await RunAsync("audit", "verify", "--database", audit.DatabasePath, "--jwks", jwks);

        purge.ExitCode.Should().Be(0, purge.Error);
        purge.Output.Should().StartWith("purged sequences 1 to 25 (25 records) under retention, anchored at checkpoint 25; the purge is recorded at sequence 26");
        again.ExitCode.Should().Be(0, again.Error);
        again.Output.Should().StartWith("nothing to purge: the oldest record, sequence 26, is still within its retention");
        verify.ExitCode.Should().Be(0, verify.Output + verify.Error);
        verify.Output.Should().StartWith("valid: 1 records, last sequence 26").And.Contain("sequences 1 to 25 purged under retention, anchored at checkpoint 25 (purge recorded at sequence 26)");
    }

    [Theory]
    [InlineData("--database", "{database}", "--postgres", "Host=127.0.0.1", "--keys", "{keys}", "--trust-framework", "{framework}")]
    [InlineData("--keys", "{keys}", "--trust-framework", "{framework}")]
    [InlineData("--database", "{missing}", "--keys", "{keys}", "--trust-framework", "{framework}")]
    [InlineData("--database", "{database}", "--keys", "{keys}", "--trust-framework", "{missing}")]
    [InlineData("--database", "{database}", "--keys", "{keys}", "--trust-framework", "{database}")]
    public async Task AuditPurge_OnAUsageError_ExitsTwoAndChangesNothing(params string[] args)
    {
        var (database, _) = await CopyOfAClosedLogAsync();
        var before = await File.ReadAllBytesAsync(database);
        var resolved = args.Select(a => a.Replace("{database}", database, StringComparison.Ordinal)
            .Replace("{keys}", Path.Combine(workspace, "keys"), StringComparison.Ordinal)
            .Replace("{framework}", Path.Combine(TrustFrameworkFiles.RepositoryRoot, "trust-frameworks", "sandbox.yaml"), StringComparison.Ordinal)
            .Replace("{missing}", Path.Combine(workspace, "missing.db"), StringComparison.Ordinal)).ToArray();

        var run = await RunAsync(["audit", "purge", .. resolved]);

        run.ExitCode.Should().Be(2, run.Output);
        run.Error.Should().NotBeEmpty();
        (await File.ReadAllBytesAsync(database)).Should().Equal(before);
    }

    [Theory]
    [InlineData("sandbox.yaml")]
    [InlineData("example-england.yaml")]
    public async Task TrustFrameworkValidate_OnTheRepositorysFrameworks_ExitsZero(string name)
    {
        var run = await RunAsync("trust-framework", "validate", Path.Combine(TrustFrameworkFiles.RepositoryRoot, "trust-frameworks", name));

        run.ExitCode.Should().Be(0, run.Error);
        run.Output.Should().Contain(": valid: trust framework ");
    }

    [Fact]
    public async Task TrustFrameworkValidate_OnABrokenFile_ExitsOnePrintingFileLineColumnFieldAndMessage()
    {
        var source = await File.ReadAllLinesAsync(TrustFrameworkFiles.SandboxPath);
        var line = Array.FindIndex(source, l => l.Contains("attempt_timeout: PT2S", StringComparison.Ordinal));
        source[line] = source[line].Replace("PT2S", "two seconds", StringComparison.Ordinal);
        var broken = Path.Combine(workspace, "broken.yaml");
        await File.WriteAllLinesAsync(broken, source);

        var run = await RunAsync("trust-framework", "validate", broken);

        run.ExitCode.Should().Be(1);
        run.Error.Should().MatchRegex($@"^{System.Text.RegularExpressions.Regex.Escape(broken)}:{line + 1}:\d+: providers\[0\]\.attempt_timeout: .+");
    }

    private async Task<(string Database, string Jwks)> CopyOfAClosedLogAsync()
    {
        // The auditor's position: a copy of the database file and the published keys, nothing of the gateway's.
        await using var audit = await AuditTampering.WriteClosedLogAsync();
        var database = Path.Combine(workspace, $"copy-{Guid.NewGuid():N}.db");
        File.Copy(audit.DatabasePath, database);
        var jwks = Path.Combine(workspace, $"audit-{Guid.NewGuid():N}.jwks.json");
        await File.WriteAllTextAsync(jwks, AuditTampering.PublicKeySet(Path.Combine(audit.Directory, "keys")));
        return (database, jwks);
    }

    private async Task<string> LogWithAwkwardTextAsync()
    {
        await using var audit = await AuditTestLog.CreateAsync();
        await audit.Log.AppendAsync(AuditTestLog.Check(1) with { CaseReference = "FSM, \"urgent\"\r\nsecond line" });
        await audit.Log.AppendAsync(AuditTestLog.Check(2) with { CaseReference = "", ConsentId = null });
        await audit.Log.AppendAsync(AuditTestLog.Check(3) with { CaseReference = "Ŵelsh ✓" });
        foreach (var (formula, number) in FormulaCaseReferences.Select((f, i) => (f, 5 + i)))
        {
            await audit.Log.AppendAsync(AuditTestLog.Check(number) with { CaseReference = formula });
        }

        await audit.Log.AppendAsync(new AuditEntry { EventType = AuditEventTypes.TokenIssued, ClientId = "leeds" });
        await audit.CloseAsync();
        SqliteConnection.ClearAllPools();
        var database = Path.Combine(workspace, "awkward.db");
        File.Copy(audit.DatabasePath, database);
        return database;
    }

    private static async Task<List<string?[]>> StoredRowsAsync(string database)
    {
        await using var store = new SqliteAuditStore(database, TimeSpan.FromSeconds(5), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        return await store.ReadChainAsync(1, CancellationToken.None).Select(r => (string?[])[.. r.Values, r.Hash]).ToListAsync();
    }

    /// <summary>
    /// Case references a spreadsheet would run as formulas, and two that begin with the quote a neutralised cell is
    /// given (OWASP, "CSV Injection").
    /// </summary>
    private static readonly string[] FormulaCaseReferences =
        ["=HYPERLINK(\"http://x\")", "=cmd|' /C calc'!A0", "+1", "-1", "@SUM(1)", "\tx", "\rx", "'x", "'=1"];

    /// <summary>
    /// An RFC 4180 reader that keeps an unquoted empty field (NULL) apart from a quoted one (""), and removes one
    /// leading <c>'</c> from a field that begins with one, as src/EligibilityGateway/Audit/README.md ("Export") tells a reader to.
    /// </summary>
    private static List<string?[]> ParseCsv(string text)
    {
        var rows = new List<string?[]>();
        var fields = new List<string?>();
        var field = new StringBuilder();
        var quoted = false;
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i += 2;
                    continue;
                }

                if (c == '"')
                {
                    quoted = false;
                    i++;
                    continue;
                }

                field.Append(c);
                i++;
                continue;
            }

            if (c == '"')
            {
                quoted = true;
                field.Append('\0');
                i++;
                continue;
            }

            if (c is ',' or '\r')
            {
                fields.Add(Finish(field));
                if (c == '\r')
                {
                    text[i + 1].Should().Be('\n', "records end in CRLF");
                    rows.Add([.. fields]);
                    fields.Clear();
                    i++;
                }

                i++;
                continue;
            }

            field.Append(c);
            i++;
        }

        fields.Should().BeEmpty("the last record ends in CRLF");
        return rows;

        static string? Finish(StringBuilder field)
        {
            // '\0' marks a field that was quoted, so that "" reads back as an empty string and nothing as NULL.
            var value = field.Length == 0 ? null : field[0] == '\0' ? field.ToString(1, field.Length - 1) : field.ToString();
            field.Clear();
            return value is ['\'', ..] ? value[1..] : value;
        }
    }

    private static async Task<CliRun> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var standardOutput = new MemoryStream();
        var exitCode = await EgwCommandLine.RunAsync(args, new EgwConsole(output, error, () => new NonClosingStream(standardOutput)), CancellationToken.None);
        return new CliRun(exitCode, output.ToString(), error.ToString(), standardOutput.ToArray());
    }

    private sealed record CliRun(int ExitCode, string Output, string Error, byte[] StandardOutputBytes);

    /// <summary>Standard output survives the command closing its stream, as the console's does.</summary>
    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }
}
