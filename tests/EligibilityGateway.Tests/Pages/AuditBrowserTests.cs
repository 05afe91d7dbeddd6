using EligibilityGateway.Tests.Audit;
using Microsoft.Playwright;

namespace EligibilityGateway.Tests.Pages;

/// <summary>
/// The auditor pages in a real browser (Debian's chromium, driven by Playwright) over a sandbox whose checks were made
/// through the check API: the sandbox auditor signs in, filters, sees the chart, verifies the trail, all under the
/// strict CSP with no console error. Screenshots are kept in <c>artifacts/screenshots/</c>.
/// </summary>
public sealed class AuditBrowserTests(AuditPagesFixture sandbox) : IClassFixture<AuditPagesFixture>
{
    [ChromiumFact]
    public async Task Auditor_SignsInFiltersSeesTheChartAndVerifiesTheTrail()
    {
        await using var browser = await BrowserSession.OpenAsync(sandbox.Sandbox.GatewayAddress, new ViewportSize { Width = 1280, Height = 900 });
        var page = browser.Page;

        await page.GotoAsync("/sign-in");
        await page.GetByLabel("Username").FillAsync("auditor");
        await page.GetByLabel("Password", new PageGetByLabelOptions { Exact = true }).FillAsync(PageGateway.Password);
        await page.Locator("form button[type=submit]").ClickAsync();
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Check eligibility for council services with your consent");
        await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Go to the audit trail" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(sandbox.Sandbox.GatewayAddress + "audit");
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Audit trail");

        // Filter with the form: Leeds's free school meals checks, eligible only.
        await page.GetByLabel("Council", new PageGetByLabelOptions { Exact = true }).SelectOptionAsync("leeds");
        await page.GetByLabel("Scheme", new PageGetByLabelOptions { Exact = true }).SelectOptionAsync("free-school-meals");
        await page.GetByLabel("Outcome", new PageGetByLabelOptions { Exact = true }).SelectOptionAsync("eligible");
        await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Apply filters" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("council=leeds&scheme=free-school-meals.*outcome=eligible"));
        var table = page.Locator("table.govuk-table", new PageLocatorOptions { Has = page.Locator("caption", new PageLocatorOptions { HasText = "Audit records" }) });
        await Assertions.Expect(table).ToContainTextAsync(AuditPagesFixture.LeedsSmith);
        await Assertions.Expect(table).Not.ToContainTextAsync(AuditPagesFixture.LeedsJones);
        await Assertions.Expect(table.Locator("tbody tr").First).ToContainTextAsync("Eligible");

        // The chart is drawn, with its text alternative, and GOV.UK Frontend's details reveal the figures.
        var chart = page.Locator("#chart-outcome svg[role=img]");
        await Assertions.Expect(chart).ToBeVisibleAsync();
        (await chart.BoundingBoxAsync())!.Height.Should().BeGreaterThan(100);
        (await page.Locator("#chart-outcome rect").CountAsync()).Should().BeGreaterThan(0, "the eligible check is drawn as a bar");
        await Assertions.Expect(page.Locator("#chart-outcome-desc")).ToContainTextAsync("eligible");
        await page.GetByText("Checks per day by outcome as a table").ClickAsync();
        await Assertions.Expect(page.Locator("#chart-outcome table")).ToBeVisibleAsync();
        await browser.ScreenshotAsync("audit-filtered");

        await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Verify the audit trail" }).ClickAsync();
        await Assertions.Expect(page.Locator("#verification")).ToContainTextAsync("The audit trail is valid");
        await Assertions.Expect(page.Locator("#verification")).ToContainTextAsync("up to the head at sequence");
        await Assertions.Expect(table).ToContainTextAsync(AuditPagesFixture.LeedsSmith);
        await browser.ScreenshotAsync("audit-verified");

        browser.Problems.Should().BeEmpty();
    }

    [ChromiumFact]
    public async Task AuditRecords_FitA1280PixelWindow_WithEachRecordedTimeOnOneLine()
    {
        // The widest values a record holds, newest so that they head the first page: a case reference of 64
        // characters with nowhere to break (the most the check API allows) and the longest event name.
        var widest = string.Concat(Enumerable.Repeat("FSMCASE2026", 6))[..64];
        await sandbox.AppendDirectlyAsync(3, n => AuditTestLog.Check(n) with
        {
            SchemeId = "audit-page-widest",
            CaseReference = widest,
            EventType = n == 3 ? EligibilityGateway.Audit.AuditEventTypes.ConsentAuthorised : EligibilityGateway.Audit.AuditEventTypes.Check,
        });
        await using var browser = await BrowserSession.OpenAsync(sandbox.Sandbox.GatewayAddress, new ViewportSize { Width = 1280, Height = 800 });
        var page = browser.Page;
        await page.GotoAsync("/sign-in?returnUrl=%2Faudit");
        await page.GetByLabel("Username").FillAsync("auditor");
        await page.GetByLabel("Password", new PageGetByLabelOptions { Exact = true }).FillAsync(PageGateway.Password);
        await page.Locator("form button[type=submit]").ClickAsync();
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Audit trail");

        // Every kind of record the fixture holds: refused checks with their rule, paging records, long case references.
        var table = page.Locator("table.govuk-table", new PageLocatorOptions { Has = page.Locator("caption", new PageLocatorOptions { HasText = "Audit records" }) });
        await Assertions.Expect(table.Locator("tbody tr")).ToHaveCountAsync(AuditTrailPageSize);
        await Assertions.Expect(table.Locator("tbody tr").First).ToContainTextAsync(widest);
        var widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, window.innerWidth]");
        await browser.ScreenshotAsync("audit-records-1280");

        widths[0].Should().BeLessThanOrEqualTo(widths[1], "the records table fits the window: the page does not scroll sideways");
        var recorded = table.Locator("tbody tr td:nth-child(2)");
        (await recorded.CountAsync()).Should().Be(AuditTrailPageSize);
        foreach (var cell in await recorded.AllAsync())
        {
            (await cell.InnerTextAsync()).Should().MatchRegex(@"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$");
            var lines = await cell.EvaluateAsync<int>(
                "cell => { const range = document.createRange(); range.selectNodeContents(cell); return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size; }");
            lines.Should().Be(1, "a recorded time is read at a glance, on one line");
        }

        browser.Problems.Should().BeEmpty();
    }

    private const int AuditTrailPageSize = 50;
}
