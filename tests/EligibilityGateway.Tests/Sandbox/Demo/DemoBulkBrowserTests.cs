using EligibilityGateway.Tests.Pages;
using Microsoft.Playwright;

namespace EligibilityGateway.Tests.Sandbox.Demo;

/// <summary>
/// The demo council's bulk page in a real browser (chromium through Playwright) against the sandbox: a caseworker
/// uploads a CSV with a bad row while the DWP is slow, the page shows the job running and refreshes itself until the gateway's job is completed, lists the bad row in
/// the error summary and offers the results CSV; bad uploads get a GOV.UK error summary with a 4xx. Screenshots of the
/// progress page are kept in <c>artifacts/screenshots/</c>.
/// </summary>
public sealed class DemoBulkBrowserTests(DemoSandbox sandbox) : IClassFixture<DemoSandbox>
{
    private const string Header = "caseReference,nationalInsuranceNumber,nationalAsylumSeekerServiceNumber,lastName,dateOfBirth\r\n";

    [ChromiumFact]
    public async Task DemoBulk_UploadWatchProgressAndDownload_ShowsTheOutcomesAndTheBadRow()
    {
        await using var browser = await BrowserSession.OpenAsync(sandbox.Address);
        var page = browser.Page;
        var csv = Header
            + "FSM-1,AB123456C,,Smith,1990-01-01\r\n"
            + "FSM-2,CE234567A,,Jones,1985-05-15\r\n"
            + "FSM-3,CE234567A,,Jones,1985-13-15\r\n"
            + "FSM-4,JK456789C,,Brown,1992-02-29\r\n"
            + "FSM-5,,240712349,Khan,1990-01-01\r\n";

        // A slow DWP (the mock's control API; under the sandbox framework's 2 s attempt timeout) keeps the job running long enough to see the page update itself.
        using var mock = new HttpClient { BaseAddress = sandbox.Host.MockAddress };
        using (var slow = await mock.PutAsync("/_control/providers/dwp", new StringContent("""{"latencyMilliseconds":1500}""", System.Text.Encoding.UTF8, "application/json")))
        {
            slow.EnsureSuccessStatusCode();
        }

        await page.GotoAsync("/demo/bulk");
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Check many residents at once");
        await page.GetByLabel("Leeds City Council").CheckAsync();
        await page.GetByLabel("Free school meals").CheckAsync();
        await page.GetByLabel("CSV file of residents").SetInputFilesAsync(new FilePayload { Name = "residents.csv", MimeType = "text/csv", Buffer = System.Text.Encoding.UTF8.GetBytes(csv) });
        await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Check these residents" }).ClickAsync();

        // The page refreshes itself (meta refresh, no script) until the job is completed.
        await Assertions.Expect(page).ToHaveURLAsync(new Uri(sandbox.Address, "/demo/bulk/progress").AbsoluteUri);
        await Assertions.Expect(page.Locator("#bulk-status")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^Bulk check (in progress|waiting to start)$"));
        (await page.Locator("meta[http-equiv=refresh]").CountAsync()).Should().Be(1, "a running job's page refreshes itself");
        await Assertions.Expect(page.Locator(".govuk-error-summary")).ToContainTextAsync("Row 3: dateOfBirth:");
        await browser.ScreenshotAsync("demo-bulk-running");
        (await mock.DeleteAsync("/_control/providers")).EnsureSuccessStatusCode();
        await Assertions.Expect(page.Locator("#bulk-status")).ToHaveTextAsync("Bulk check completed", new LocatorAssertionsToHaveTextOptions { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#bulk-progress-text")).ToHaveTextAsync("5 of 5 rows done");
        await Assertions.Expect(page.Locator("#count-eligible")).ToHaveTextAsync("2");
        await Assertions.Expect(page.Locator("#count-not-eligible")).ToHaveTextAsync("1");
        await Assertions.Expect(page.Locator("#count-not-found")).ToHaveTextAsync("1");
        await Assertions.Expect(page.Locator("#count-invalid")).ToHaveTextAsync("1");
        await Assertions.Expect(page.Locator(".govuk-error-summary")).ToContainTextAsync("1 row was not checked");
        await Assertions.Expect(page.Locator(".govuk-error-summary")).ToContainTextAsync("Row 3: dateOfBirth:");
        (await page.Locator("meta[http-equiv=refresh]").CountAsync()).Should().Be(0, "a finished job's page stops refreshing");
        await browser.ScreenshotAsync("demo-bulk-completed");

        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Link, new PageGetByRoleOptions { Name = "Download the results (CSV)" }).ClickAsync());
        var lines = (await File.ReadAllTextAsync((await download.PathAsync())!)).Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(',')).ToList();
        download.SuggestedFilename.Should().EndWith(".csv");
        lines[0][0].Should().Be("row");
        lines.Skip(1).Select(l => (l[1], l[2], l[4])).Should().Equal(
            ("FSM-1", "completed", "eligible"),
            ("FSM-2", "completed", "not-eligible"),
            ("", "invalid", ""),
            ("FSM-4", "completed", "not-found"),
            ("FSM-5", "completed", "eligible"));

        browser.Problems.Should().BeEmpty();
    }

    [ChromiumFact]
    public async Task DemoBulk_NoFileNotACsvOrTooLarge_ShowsTheGovukErrorSummaryWithA4xx()
    {
        await using var browser = await BrowserSession.OpenAsync(sandbox.Address);
        var page = browser.Page;
        FilePayload? none = null;
        var cases = new (FilePayload? File, int Status, string Message)[]
        {
            (none, 400, "Select a CSV file of residents"),
            (new FilePayload { Name = "photo.png", MimeType = "image/png", Buffer = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] }, 400, "The selected file must be a CSV"),
            (new FilePayload { Name = "huge.csv", MimeType = "text/csv", Buffer = System.Text.Encoding.ASCII.GetBytes(Header + new string('x', 5 * 1024 * 1024)) }, 413, "The selected file must be smaller than 5 MB"),
        };

        foreach (var (file, status, message) in cases)
        {
            await page.GotoAsync("/demo/bulk");
            if (file is not null)
            {
                await page.GetByLabel("CSV file of residents").SetInputFilesAsync(file);
            }

            var response = await page.RunAndWaitForResponseAsync(
                () => page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Check these residents" }).ClickAsync(),
                r => r.Request.Method == "POST" && r.Url.EndsWith("/demo/bulk", StringComparison.Ordinal));

            response.Status.Should().Be(status, message);
            await Assertions.Expect(page.Locator(".govuk-error-summary")).ToContainTextAsync(message);
            await Assertions.Expect(page.Locator(".govuk-error-message")).ToContainTextAsync(message);
        }

        await browser.ScreenshotAsync("demo-bulk-error");
        // The only problems are the refused uploads themselves: a 4xx for the form's POST, never a 5xx.
        browser.Problems.Where(p => !(p.StartsWith("400 for ", StringComparison.Ordinal) || p.StartsWith("413 for ", StringComparison.Ordinal))
            && !p.Contains("the server responded with a status of 4", StringComparison.Ordinal)).Should().BeEmpty();
        browser.Problems.Should().Contain(p => p.StartsWith("413 for ", StringComparison.Ordinal));    }
}
