using System.Net;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Audit;
using EligibilityGateway.Tests.EndToEnd;
using EligibilityGateway.Tests.Pages;

namespace EligibilityGateway.Tests.Audit;

/// <summary>
/// Case references a spreadsheet would run as formulas (OWASP, "CSV Injection"), exported through real HTTP by the
/// auditor API and by the <c>/audit</c> page's download: every CSV cell neutralised behind a single quote and quoted,
/// every JSON line exactly as stored.
/// </summary>
public sealed class AuditCsvInjectionTests(AuditCsvInjectionTests.FormulaFixture sandbox) : IClassFixture<AuditCsvInjectionTests.FormulaFixture>
{
    /// <summary>Case references a council may send through the check API: printable, each a formula to a spreadsheet.</summary>
    public static readonly string[] PrintableFormulas = ["=HYPERLINK(\"http://x\")", "=cmd|' /C calc'!A0", "+1", "-1", "@SUM(1)", "'=1"];

    /// <summary>
    /// Formulas led by a tab or a carriage return. The check API refuses control characters in a case reference, so
    /// these reach the log through the store, as a record written by another path would; the export must hold them safely too.
    /// </summary>
    public static readonly string[] ControlFormulas = ["\tx", "\rx"];

    public static IEnumerable<string> AllFormulas => PrintableFormulas.Concat(ControlFormulas);

    /// <summary>The sandbox after Leeds has checked Smith once under each formula case reference.</summary>
    public sealed class FormulaFixture : SandboxFixture, IAsyncLifetime
    {
        async Task IAsyncLifetime.InitializeAsync()
        {
            await InitializeAsync();
            var leeds = await TokenAsync("leeds");
            foreach (var formula in PrintableFormulas)
            {
                var escaped = JsonSerializer.Serialize(formula)[1..^1];
                using var response = await PostCheckAsync(leeds, Subjects.Check(Subjects.Smith, caseReference: escaped));
                response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            }

            await this.AppendDirectlyAsync(ControlFormulas.Length, n => AuditTestLog.Check(n) with { CaseReference = ControlFormulas[n - 1] });
        }

        /// <summary>A new browser signed in to the pages as <paramref name="username"/>.</summary>
        internal async Task<HttpClient> SignedInAsync(string username)
        {
            var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true, AllowAutoRedirect = false })
            {
                BaseAddress = Sandbox.GatewayAddress,
            };
            using var response = await PageGateway.SignInAsync(client, username, PageGateway.Password, "/audit");
            response.StatusCode.Should().Be(HttpStatusCode.Redirect);
            return client;
        }
    }

    [Fact]
    public async Task ApiExport_CsvNeutralisesEveryFormulaCaseReference_JsonLinesKeepThemExact()
    {
        var token = await sandbox.AuditorTokenAsync();
        using var csv = await sandbox.AuditGetAsync(token, "/v1/audit/export?format=csv&eventType=check");
        using var jsonLines = await sandbox.AuditGetAsync(token, "/v1/audit/export?format=jsonl&eventType=check");

        csv.StatusCode.Should().Be(HttpStatusCode.OK);
        AssertNeutralised(await csv.Content.ReadAsStringAsync());
        await AssertExactAsync(jsonLines);
    }

    [Fact]
    public async Task PageDownload_CsvNeutralisesEveryFormulaCaseReference_JsonLinesKeepThemExact()
    {
        using var auditor = await sandbox.SignedInAsync("auditor");
        using var csv = await auditor.GetAsync("/audit?handler=export&format=csv&eventType=check");
        using var jsonLines = await auditor.GetAsync("/audit?handler=export&format=jsonl&eventType=check");

        csv.StatusCode.Should().Be(HttpStatusCode.OK);
        csv.Content.Headers.ContentType!.MediaType.Should().Be("text/csv");
        AssertNeutralised(await csv.Content.ReadAsStringAsync());
        await AssertExactAsync(jsonLines);
    }

    /// <summary>JSON lines carry each case reference exactly as sent: no quote added, nothing dropped.</summary>
    private static async Task AssertExactAsync(HttpResponseMessage response)
    {
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var references = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("case_reference").GetString())
            .ToList();
        references.Should().Contain(AllFormulas);
        references.Should().NotContain(AllFormulas.Select(f => "'" + f), "JSON lines are never neutralised");
    }

    /// <summary>
    /// Every formula's cell is <c>"'</c> + the value (quotes doubled) + <c>"</c>, and no field of the file, once
    /// unquoted, begins with a character a spreadsheet runs; one leading <c>'</c> removed gives each value back.
    /// </summary>
    private static void AssertNeutralised(string csv)
    {
        foreach (var formula in AllFormulas)
        {
            csv.Should().Contain($",\"'{formula.Replace("\"", "\"\"", StringComparison.Ordinal)}\",", "the case reference {0} is quoted behind a single quote", JsonSerializer.Serialize(formula));
        }

        var rows = ParseCsv(csv);
        var column = rows[0].IndexOf("case_reference");
        column.Should().BeGreaterThan(0);
        rows.SelectMany(r => r).Should().NotContain(f => f.Length > 0 && "=+-@\t\r".Contains(f[0]), "no cell may begin a formula");
        rows.Skip(1).Select(r => r[column]).Select(f => f.StartsWith('\'') ? f[1..] : f).Should().Contain(AllFormulas, "removing one leading quote gives the stored value back");
    }

    /// <summary>RFC 4180 fields, unquoted, rows ending in CRLF; NULL and empty both read as "".</summary>
    private static List<List<string>> ParseCsv(string text)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c != '"')
                {
                    field.Append(c);
                }
                else if (i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else
                {
                    quoted = false;
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                row.Add(field.ToString());
                field.Clear();
            }
            else if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                row.Add(field.ToString());
                field.Clear();
                rows.Add(row);
                row = [];
                i++;
            }
            else
            {
                field.Append(c);
            }
        }

        row.Should().BeEmpty("the last record ends in CRLF");
        return rows;
    }
}
