using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using EligibilityGateway.Tests.Audit;

namespace EligibilityGateway.Tests.Pages;

/// <summary>
/// The auditor pages at <c>/audit</c> over real HTTP against the sandbox composition: who may see them,
/// per-auditor isolation in the table, the chart, the export and verification, antiforgery on Verify, the security
/// headers, filters and paging, and bad filter input answered with the GOV.UK error summary rather than a 500.
/// </summary>
public sealed partial class AuditPagesTests(AuditPagesFixture sandbox) : IClassFixture<AuditPagesFixture>
{
    [Fact]
    public async Task Audit_WhenSignedOut_RedirectsToSignInAndComesBack()
    {
        using var browser = sandbox.Browser();

        using var response = await browser.GetAsync("/audit");

        response.StatusCode.Should().Be(HttpStatusCode.Redirect);
        response.Headers.Location!.PathAndQuery.Should().Be("/sign-in?returnUrl=%2Faudit");
    }

    [Fact]
    public async Task Audit_ForACitizen_IsTheForbiddenPage()
    {
        using var smith = sandbox.Browser();
        (await PageGateway.SignInAsync(smith, "smith", PageGateway.Password)).StatusCode.Should().Be(HttpStatusCode.Redirect);

        using var response = await smith.GetAsync("/audit");
        var export = await smith.GetAsync("/audit?handler=export&format=csv");

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await response.Content.ReadAsStringAsync()).Should().Contain("You cannot see this page");
        export.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await export.Content.ReadAsStringAsync()).Should().NotContain(AuditPagesFixture.LeedsSmith);
    }

    [Fact]
    public async Task Audit_ForTheAllCouncilsAuditor_ShowsEveryCouncilWithChartExportAndVerify()
    {
        using var auditor = await sandbox.SignedInAsync("auditor");

        var html = await PageAsync(auditor, "/audit?scheme=free-school-meals");

        html.Should().Contain("<h1 class=\"govuk-heading-l\">Audit trail</h1>").And.Contain("Records of every council");
        html.Should().Contain(AuditPagesFixture.LeedsSmith).And.Contain(AuditPagesFixture.CamdenRefused);
        html.Should().Contain("<caption class=\"govuk-table__caption govuk-table__caption--s\">Audit records that match the filters, newest first");
        html.Should().Contain("role=\"img\" aria-labelledby=\"chart-outcome-title\" aria-describedby=\"chart-outcome-desc\"")
            .And.Contain("role=\"img\" aria-labelledby=\"chart-council-title\" aria-describedby=\"chart-council-desc\"");
        ChartTable(html, "chart-council").Should().Contain("Leeds City Council").And.Contain("Camden");
        html.Should().Contain("href=\"/audit?handler=export&amp;format=csv&amp;scheme=free-school-meals\"")
            .And.Contain("href=\"/audit?handler=export&amp;format=jsonl&amp;scheme=free-school-meals\"");
        html.Should().MatchRegex("<form method=\"post\" action=\"/audit\\?handler=verify&amp;scheme=free-school-meals\"[^>]*>\\s*<button[^>]*>Verify the audit trail</button>\\s*<input name=\"__RequestVerificationToken\"");
        html.Should().Contain("<option value=\"camden\">").And.Contain("<option value=\"leeds\">");
    }

    [Fact]
    public async Task Audit_ForTheLeedsAuditor_ShowsLeedsOnly_InTheTableChartAndExport()
    {
        using var leeds = await sandbox.SignedInAsync("leeds-auditor");

        var html = await PageAsync(leeds, "/audit?scheme=free-school-meals");

        html.Should().Contain("Records of Leeds City Council");
        html.Should().Contain(AuditPagesFixture.LeedsSmith).And.NotContain(AuditPagesFixture.CamdenRefused);
        html.Should().NotContain("Camden", "neither the table, the chart nor the council filter names another council");
        html.Should().NotContain("Verify the audit trail</button>");
        ChartTable(html, "chart-council").Should().Contain("Leeds City Council");

        foreach (var format in new[] { "csv", "jsonl" })
        {
            using var export = await leeds.GetAsync($"/audit?handler=export&format={format}");
            export.StatusCode.Should().Be(HttpStatusCode.OK);
            var councils = Councils(format, await export.Content.ReadAsStringAsync());
            councils.Should().NotBeEmpty().And.OnlyContain(c => c == "leeds", $"the {format} export holds Leeds's records only");
        }

        using var everyone = await sandbox.SignedInAsync("auditor");
        using var all = await everyone.GetAsync("/audit?handler=export&format=jsonl");
        Councils("jsonl", await all.Content.ReadAsStringAsync()).Should().Contain("camden", "the all-councils auditor's export has Camden's records");
    }

    [Fact]
    public async Task Audit_ForTheLeedsAuditor_AskingForCamden_Is403WithAnErrorSummary_InThePageAndTheExport()
    {
        using var leeds = await sandbox.SignedInAsync("leeds-auditor");

        using var page = await leeds.GetAsync("/audit?council=camden");
        using var export = await leeds.GetAsync("/audit?handler=export&format=csv&council=camden");

        page.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        var html = await page.Content.ReadAsStringAsync();
        html.Should().Contain("govuk-error-summary").And.Contain("<a href=\"#council\">You can see the records of Leeds City Council only</a>");
        html.Should().Contain("<title>Error: Audit trail – Eligibility Gateway</title>");
        html.Should().NotContain(AuditPagesFixture.CamdenRefused);
        export.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        export.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        (await export.Content.ReadAsStringAsync()).Should().NotContain(AuditPagesFixture.CamdenRefused);
    }

    [Fact]
    public async Task Verify_ByTheLeedsAuditor_IsForbidden()
    {
        using var leeds = await sandbox.SignedInAsync("leeds-auditor");
        // The Leeds auditor's page has no POST form; the sign-out page's token is one this browser holds.
        var token = await TokenAsync(leeds, "/sign-out");

        using var response = await leeds.PostAsync("/audit?handler=verify", Form(token));

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        var html = await response.Content.ReadAsStringAsync();
        html.Should().Contain("Only an auditor of every council can verify the audit trail").And.NotContain("The audit trail is valid");
    }

    [Fact]
    public async Task Verify_WithoutAValidAntiforgeryToken_IsRefused_AndWithOne_ShowsValidWithTheHeadSequence()
    {
        using var auditor = await sandbox.SignedInAsync("auditor");
        var api = await sandbox.AuditorTokenAsync();
        var (newest, _) = await sandbox.EventsAsync(api, "?limit=1");
        var head = newest[0].GetProperty("sequence").GetInt64();

        using var missing = await auditor.PostAsync("/audit?handler=verify", new FormUrlEncodedContent([]));
        using var forged = await auditor.PostAsync("/audit?handler=verify", Form("CfDJ8forged"));
        var token = await TokenAsync(auditor, "/audit");
        using var otherBrowser = await sandbox.SignedInAsync("auditor");
        using var stolen = await otherBrowser.PostAsync("/audit?handler=verify", Form(token));
        using var verified = await auditor.PostAsync("/audit?handler=verify&scheme=free-school-meals", Form(token));

        foreach (var refused in new[] { missing, forged, stolen })
        {
            refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
            (await refused.Content.ReadAsStringAsync()).Should().Contain("Sorry, there is a problem with the form you sent").And.NotContain("The audit trail is valid");
        }

        verified.StatusCode.Should().Be(HttpStatusCode.OK);
        var html = await verified.Content.ReadAsStringAsync();
        html.Should().Contain("The audit trail is valid");
        var shown = long.Parse(HeadSequence().Match(html).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        shown.Should().BeGreaterThanOrEqualTo(head, "the verifier walked at least every record committed before it ran");
        html.Should().Contain(AuditPagesFixture.LeedsSmith, "the page keeps its filters after Verify");
    }

    [Fact]
    public async Task Audit_PageAndExport_CarryThePageSecurityHeaders()
    {
        using var auditor = await sandbox.SignedInAsync("auditor");

        using var page = await auditor.GetAsync("/audit");
        using var export = await auditor.GetAsync("/audit?handler=export&format=csv");

        foreach (var response in new[] { page, export })
        {
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            var csp = response.Headers.GetValues("Content-Security-Policy").Single();
            csp.Should().Contain("frame-ancestors 'none'").And.Contain("style-src 'self'").And.NotContain("unsafe");
            response.Headers.GetValues("X-Frame-Options").Single().Should().Be("DENY");
            response.Headers.CacheControl!.NoStore.Should().BeTrue();
        }

        export.Content.Headers.ContentType!.MediaType.Should().Be("text/csv");
        export.Content.Headers.ContentDisposition!.FileName.Should().Be("audit.csv");
        (await page.Content.ReadAsStringAsync()).Should().NotContain(" style=", "the CSP allows no inline style, so the chart uses presentation attributes only");
    }

    [Theory]
    [InlineData("from=31%2F12%2F2026", "from", "Enter the start date as a date")]
    [InlineData("from=2026-02-30", "from", "Enter the start date as a date")]
    [InlineData("from=2026-11-05&to=2026-11-04", "to", "The end date must be the same as or after the start date")]
    [InlineData("outcome=maybe", "outcome", "Choose an outcome from the list")]
    [InlineData("eventType=DROP%20TABLE", "eventType", "Choose an event type from the list")]
    [InlineData("council=leeds&council=camden", "council", "Choose one value for each filter")]
    [InlineData("consentId=%01", "consentId", "Enter a consent reference of 1 to 128 characters")]
    [InlineData("cursor=not-a-cursor", "records", "This page link is not valid any more")]
    public async Task Audit_WithABadFilter_Is400WithTheErrorSummaryNamingTheField(string query, string field, string message)
    {
        using var auditor = await sandbox.SignedInAsync("auditor");

        using var response = await auditor.GetAsync("/audit?" + query);
        using var export = await auditor.GetAsync("/audit?handler=export&format=csv&" + query);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var html = await response.Content.ReadAsStringAsync();
        html.Should().Contain("<h2 class=\"govuk-error-summary__title\">There is a problem</h2>");
        html.Should().Contain($"<li><a href=\"#{field}\">{message}");
        html.Should().Contain("<title>Error: Audit trail – Eligibility Gateway</title>");
        html.Should().Contain($"id=\"{field}\"", "the error summary links to the field");
        html.Should().Contain("Correct the problems above to see the records.").And.NotContain("No records match");
        if (field != "records")
        {
            export.StatusCode.Should().Be(HttpStatusCode.BadRequest, "the export refuses the same filters");
        }
    }

    [Fact]
    public async Task Audit_ExportWithoutAKnownFormat_ShowsTheErrorSummary()
    {
        using var auditor = await sandbox.SignedInAsync("auditor");

        using var response = await auditor.GetAsync("/audit?handler=export&format=xml");

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).Should().Contain("<li><a href=\"#export\">Choose CSV or JSON lines for the download</a></li>");
    }

    [Fact]
    public async Task Audit_Filters_NarrowTheTableAndTheExport()
    {
        using var auditor = await sandbox.SignedInAsync("auditor");

        var eligible = await PageAsync(auditor, "/audit?outcome=eligible&council=leeds&lawfulBasis=public-task&scheme=free-school-meals");
        var refused = await PageAsync(auditor, "/audit?decision=deny");
        using var export = await auditor.GetAsync("/audit?handler=export&format=jsonl&decision=deny");

        eligible.Should().Contain(AuditPagesFixture.LeedsSmith).And.NotContain(AuditPagesFixture.LeedsJones).And.NotContain(AuditPagesFixture.CamdenRefused);
        eligible.Should().Contain("<option value=\"eligible\" selected=\"selected\">Eligible</option>", "the form shows the filters in force");
        refused.Should().Contain(AuditPagesFixture.CamdenRefused).And.NotContain(AuditPagesFixture.LeedsSmith);
        var lines = (await export.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().NotBeEmpty().And.OnlyContain(l => JsonDocument.Parse(l).RootElement.GetProperty("decision").GetString() == "deny");
    }

    [Theory]
    [InlineData("to=9999-12-31", true)]
    [InlineData("from=9999-12-31", false)]
    [InlineData("from=9999-12-31T23:59:59Z", false)]
    [InlineData("from=9999-12-31T23:59:59.9999999Z", false)]
    [InlineData("to=9999-12-31T23:59:59.9999999Z", true)]
    [InlineData("to=0001-01-01", false)]
    [InlineData("to=0001-01-01T00:00:00Z", false)]
    [InlineData("from=0001-01-01", true)]
    [InlineData("from=0001-01-01T00:00:00Z", true)]
    [InlineData("from=0001-01-01&to=9999-12-31", true)]
    [InlineData("from=0001-01-01&to=0001-01-01", false)]
    [InlineData("from=9999-12-31&to=9999-12-31", false)]
    public async Task Audit_WithADateAtTheCalendarsEdge_Is200WithTheRecordsInsideIt_InThePageAndTheExport(string query, bool holdsRecords)
    {
        using var auditor = await sandbox.SignedInAsync("auditor");

        using var page = await auditor.GetAsync("/audit?scheme=free-school-meals&" + query);
        using var export = await auditor.GetAsync("/audit?handler=export&format=jsonl&scheme=free-school-meals&" + query);

        var html = await page.Content.ReadAsStringAsync();
        page.StatusCode.Should().Be(HttpStatusCode.OK, html);
        export.StatusCode.Should().Be(HttpStatusCode.OK, await export.Content.ReadAsStringAsync());
        var exported = (await export.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (holdsRecords)
        {
            html.Should().Contain(AuditPagesFixture.LeedsSmith, "every record lies inside the calendar");
            exported.Should().Contain(l => l.Contains(AuditPagesFixture.LeedsSmith));
        }
        else
        {
            html.Should().Contain("No records match these filters.").And.NotContain(AuditPagesFixture.LeedsSmith);
            exported.Should().BeEmpty();
        }
    }

    [Fact]
    public async Task Audit_DateRange_IsInclusiveOfWholeUtcDays_AndBoundsTheChart()
    {
        using var auditor = await sandbox.SignedInAsync("auditor");
        var today = DateOnly.FromDateTime(TimeProvider.System.GetUtcNow().UtcDateTime);
        string Day(int offset) => today.AddDays(offset).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

        var around = await PageAsync(auditor, $"/audit?from={Day(-1)}&to={Day(1)}&scheme=free-school-meals");
        var later = await PageAsync(auditor, $"/audit?from={Day(2)}&to={Day(3)}");

        around.Should().Contain(AuditPagesFixture.LeedsSmith);
        around.Should().Contain($"<input class=\"govuk-input govuk-input--width-20 \" id=\"from\" name=\"from\" type=\"text\" value=\"{Day(-1)}\"");
        ChartTable(around, "chart-outcome").Should().Contain(AuditChartDay(today.AddDays(-1))).And.Contain(AuditChartDay(today.AddDays(1)))
            .And.NotContain(AuditChartDay(today.AddDays(-2)));
        later.Should().Contain("No records match these filters.").And.NotContain(AuditPagesFixture.LeedsSmith);
        later.Should().Contain(": 0 checks.");
    }

    [Fact]
    public async Task Audit_OlderAndNewerLinks_WalkEveryMatchingRecordOnceInOrder()
    {
        using var auditor = await sandbox.SignedInAsync("auditor");
        var pages = new List<List<long>>();
        string? href = $"/audit?scheme={AuditPagesFixture.PagingScheme}";
        string? newerFromLast = null;
        while (href is not null)
        {
            var html = await PageAsync(auditor, href);
            pages.Add([.. Sequences(html)]);
            newerFromLast = Link(html, "prev");
            href = Link(html, "next");
        }

        pages.Select(p => p.Count).Should().Equal(50, 50, 20);
        var all = pages.SelectMany(p => p).ToList();
        all.Should().HaveCount(AuditPagesFixture.PagingRecords).And.OnlyHaveUniqueItems().And.BeInDescendingOrder();
        all.Max().Should().Be(all.Min() + AuditPagesFixture.PagingRecords - 1, "the appended records are consecutive and none is skipped");

        var back = await PageAsync(auditor, newerFromLast!);
        Sequences(back).Should().Equal(pages[1], "Newer from the last page shows the page before it again");
        Link(back, "prev").Should().NotBeNull();
        var first = await PageAsync(auditor, Link(back, "prev")!);
        Sequences(first).Should().Equal(pages[0]);
        Link(first, "prev").Should().BeNull("the newest page has nothing newer");
    }

    [Fact]
    public async Task Chart_CountsTheChecksTheExportHolds_ForTheAuditorsScope()
    {
        using var leeds = await sandbox.SignedInAsync("leeds-auditor");

        var html = await PageAsync(leeds, "/audit");
        using var export = await leeds.GetAsync("/audit?handler=export&format=jsonl&eventType=check");

        var checks = (await export.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        var total = Regex.Match(html, "recorded, from [^:]+: ([0-9,]+) checks?\\.").Groups[1].Value;
        total.Replace(",", "", StringComparison.Ordinal).Should().Be(checks.ToString(System.Globalization.CultureInfo.InvariantCulture), "every Leeds check was recorded today, inside the default 14 days");
        var desc = Regex.Match(html, "<desc id=\"chart-outcome-desc\">([^<]+)</desc>").Groups[1].Value;
        desc.Should().Contain("eligible").And.Contain("not found");
    }

    [Fact]
    public async Task SubjectSearch_FindsThePersonsChecks_WithinTheAuditorsScope_AndNeverPutsTheIdentifiersInALinkOrALog()
    {
        using var auditor = await sandbox.SignedInAsync("auditor");
        using var leeds = await sandbox.SignedInAsync("leeds-auditor");

        var smith = await SearchAsync(auditor, "AB 12 34 56 C", null, "1990-01-01");
        var taylor = await SearchAsync(auditor, "EH345678B", null, "1978-11-30");
        var taylorForLeeds = await SearchAsync(leeds, "EH345678B", null, "1978-11-30");
        var nobody = await SearchAsync(auditor, "AB123456C", null, "1990-01-02");

        smith.Should().Contain("Records about the person you searched for").And.Contain(AuditPagesFixture.LeedsSmith)
            .And.NotContain(AuditPagesFixture.LeedsJones).And.NotContain(AuditPagesFixture.LeedsBrown);
        taylor.Should().Contain(AuditPagesFixture.CamdenRefused, "a refused check is about the person too");
        taylorForLeeds.Should().NotContain(AuditPagesFixture.CamdenRefused).And.Contain("No records match these filters.");
        nobody.Should().NotContain(AuditPagesFixture.LeedsSmith, "another date of birth is another person");
        foreach (var html in new[] { smith, taylor })
        {
            Regex.Matches(html, "(?:href|action)=\"([^\"]*)\"").Select(m => m.Groups[1].Value)
                .Should().NotContain(u => u.Contains("AB123456C") || u.Contains("AB 12") || u.Contains("EH345678B") || u.Contains("1990-01-01") || u.Contains("1978-11-30"));
        }

        sandbox.Logs.Lines.Should().NotContain(l => l.Contains("AB123456C") || l.Contains("AB 12 34 56 C") || l.Contains("EH345678B") || l.Contains("1978-11-30"));
    }

    [Fact]
    public async Task SubjectSearch_PagesByPostingTheSearchAgainWithTheCursor()
    {
        using var auditor = await sandbox.SignedInAsync("auditor");

        var first = await SearchAsync(auditor, null, "240712349", "1990-01-01");
        var firstPage = Sequences(first).ToList();
        var older = SearchPage(first, "Older records");
        older.Should().NotBeNull("60 records about Khan are more than one page");
        using var olderResponse = await auditor.PostAsync(older!.Value.Action, new FormUrlEncodedContent(older.Value.Fields));
        var second = await olderResponse.Content.ReadAsStringAsync();
        var secondPage = Sequences(second).ToList();
        var newer = SearchPage(second, "Newer records");
        using var newerResponse = await auditor.PostAsync(newer!.Value.Action, new FormUrlEncodedContent(newer.Value.Fields));
        var back = Sequences(await newerResponse.Content.ReadAsStringAsync()).ToList();

        firstPage.Should().HaveCount(50);
        secondPage.Should().HaveCount(AuditPagesFixture.KhanRecords - 50);
        firstPage.Concat(secondPage).Should().OnlyHaveUniqueItems().And.BeInDescendingOrder();
        second.Should().Contain("KHAN-0001").And.NotContain(AuditPagesFixture.LeedsSmith);
        SearchPage(second, "Older records").Should().BeNull();
        back.Should().Equal(firstPage);
        older.Value.Action.Should().NotContain("240712349", "the identifiers travel in the form body only");
    }

    [Fact]
    public async Task SubjectSearch_WithABadIdentifier_Is400WithTheErrorSummary_AndWithoutAToken_IsRefused()
    {
        using var auditor = await sandbox.SignedInAsync("auditor");
        var token = await TokenAsync(auditor, "/audit");

        using var bad = await auditor.PostAsync("/audit?handler=subject", Search(token, "not-a-number", null, "1990-01-01"));
        using var none = await auditor.PostAsync("/audit?handler=subject", Search(token, null, null, "31/01/1990"));
        using var unsigned = await auditor.PostAsync("/audit?handler=subject", Search(null, "AB123456C", null, "1990-01-01"));

        bad.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var html = await bad.Content.ReadAsStringAsync();
        html.Should().Contain("<li><a href=\"#nationalInsuranceNumber\">Not a valid National Insurance number");
        html.Should().Contain("<title>Error: Audit trail – Eligibility Gateway</title>").And.NotContain(AuditPagesFixture.LeedsSmith);
        none.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await none.Content.ReadAsStringAsync()).Should().Contain("<li><a href=\"#nationalInsuranceNumber\">").And.Contain("<li><a href=\"#dateOfBirth\">");
        unsigned.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await unsigned.Content.ReadAsStringAsync()).Should().Contain("Sorry, there is a problem with the form you sent").And.NotContain(AuditPagesFixture.LeedsSmith);
    }

    private static async Task<string> SearchAsync(HttpClient client, string? nino, string? nass, string dateOfBirth)
    {
        var token = await TokenAsync(client, "/audit");
        using var response = await client.PostAsync("/audit?handler=subject", Search(token, nino, nass, dateOfBirth));
        var html = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, html);
        return html;
    }

    /// <summary>The paging form of a subject search whose button says <paramref name="button"/>: its action and fields.</summary>
    private static (string Action, Dictionary<string, string> Fields)? SearchPage(string html, string button)
    {
        foreach (Match form in Regex.Matches(html, "<form method=\"post\" action=\"([^\"]+)\"[^>]*>(.*?)</form>", RegexOptions.Singleline))
        {
            if (form.Groups[2].Value.Contains($">{button}</button>", StringComparison.Ordinal))
            {
                var fields = Regex.Matches(form.Groups[2].Value, "<input (?:type=\"hidden\" )?name=\"([^\"]+)\" (?:type=\"hidden\" )?value=\"([^\"]*)\"")
                    .ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Groups[2].Value));
                return (WebUtility.HtmlDecode(form.Groups[1].Value), fields);
            }
        }

        return null;
    }

    private static FormUrlEncodedContent Search(string? token, string? nino, string? nass, string dateOfBirth)
    {
        var form = new Dictionary<string, string>
        {
            ["nationalInsuranceNumber"] = nino ?? "",
            ["nationalAsylumSeekerServiceNumber"] = nass ?? "",
            ["dateOfBirth"] = dateOfBirth,
        };
        if (token is not null)
        {
            form["__RequestVerificationToken"] = token;
        }

        return new FormUrlEncodedContent(form);
    }

    private static async Task<string> PageAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var html = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, html);
        return html;
    }

    private static string AuditChartDay(DateOnly day) => day.ToString("d MMM yyyy", System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<string> TokenAsync(HttpClient client, string path) => await PageGateway.AntiforgeryTokenAsync(client, path);

    private static FormUrlEncodedContent Form(string token) => new(new Dictionary<string, string> { ["__RequestVerificationToken"] = token });

    /// <summary>The council of every exported record.</summary>
    private static List<string?> Councils(string format, string body)
    {
        if (format == "jsonl")
        {
            return [.. body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("council_id").GetString())];
        }

        var lines = body.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var column = Array.IndexOf(lines[0].Split(','), "council_id");
        column.Should().BeGreaterThan(0);

        // No exported field of these records holds a comma, so a plain split finds the column.
        return [.. lines.Skip(1).Select(l => l.Split(',')[column])];
    }

    private static string ChartTable(string html, string id)
    {
        var start = html.IndexOf($"<figure class=\"govuk-!-margin-0 govuk-!-margin-bottom-6\" id=\"{id}\">", StringComparison.Ordinal);
        start.Should().BeGreaterThan(0, $"the page draws the chart {id}");
        return html[start..html.IndexOf("</figure>", start, StringComparison.Ordinal)];
    }

    private static IEnumerable<long> Sequences(string html) =>
        SequenceCell().Matches(html).Select(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));

    private static string? Link(string html, string rel)
    {
        var match = Regex.Match(html, $"href=\"([^\"]+)#records\" rel=\"{rel}\"");
        return match.Success ? WebUtility.HtmlDecode(match.Groups[1].Value) : null;
    }

    [GeneratedRegex("<td class=\"govuk-table__cell govuk-table__cell--numeric\">([0-9]+)</td>\\s*<td class=\"govuk-table__cell app-table__cell--nowrap\">\\d{4}-")]
    private static partial Regex SequenceCell();

    [GeneratedRegex("up to the head at sequence <strong>([0-9]+)</strong>")]
    private static partial Regex HeadSequence();
}
