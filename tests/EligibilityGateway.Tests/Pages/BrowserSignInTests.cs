using EligibilityGateway.Tests.TrustFramework;
using Microsoft.Playwright;

namespace EligibilityGateway.Tests.Pages;

/// <summary>
/// A real browser (Debian's chromium, driven by Playwright) through the start page, sign-in, the account and
/// sign-out: the pages render with GOV.UK Frontend's styles and scripts under the strict CSP, with no console error.
/// Screenshots are kept in <c>artifacts/screenshots/</c>.
/// </summary>
public sealed class BrowserSignInTests
{
    [ChromiumFact]
    public async Task Citizen_SignsInLandsOnTheAccountAndSignsOut_WithGovukStylesAndNoConsoleError()
    {
        await using var gateway = await PageGateway.StartAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumFactAttribute.ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = gateway.BaseAddress.ToString() });
        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning")
            {
                problems.Add($"{message.Type}: {message.Text}");
            }
        };
        page.PageError += (_, error) => problems.Add("page error: " + error);
        page.RequestFailed += (_, request) => problems.Add($"request failed: {request.Url}");
        page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                problems.Add($"{response.Status} for {response.Url}");
            }
        };
        var screenshots = Path.Combine(TrustFrameworkFiles.RepositoryRoot, "artifacts", "screenshots");
        Directory.CreateDirectory(screenshots);

        await page.GotoAsync("/");
        await Assertions.Expect(page).ToHaveTitleAsync("Check eligibility for council services with your consent – Eligibility Gateway");
        (await page.EvalOnSelectorAsync<string>(".govuk-generic-header", "e => getComputedStyle(e).backgroundColor")).Should().Be("rgb(11, 12, 12)");
        (await page.EvalOnSelectorAsync<string>("h1", "e => getComputedStyle(e).fontFamily")).Should().Contain("GDS Transport");
        (await page.EvalOnSelectorAsync<bool>("body", "e => e.classList.contains('govuk-frontend-supported')")).Should().BeTrue("the nonce'd inline script ran under the CSP");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "pages-start.png"), FullPage = true });

        await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(gateway.BaseAddress + "sign-in");

        // GOV.UK Frontend's module initialised the password input: its Show button is no longer hidden.
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Show password" })).ToBeVisibleAsync();
        await page.GetByLabel("Username").FillAsync("smith");
        await page.GetByLabel("Password", new PageGetByLabelOptions { Exact = true }).FillAsync(PageGateway.Password);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "pages-sign-in.png"), FullPage = true });
        await page.Locator("form button[type=submit]").ClickAsync();

        await Assertions.Expect(page).ToHaveURLAsync(gateway.BaseAddress + "account");
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Your account");
        await Assertions.Expect(page.Locator(".govuk-summary-list")).ToContainTextAsync("AB 12 34 56 C");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "pages-account.png"), FullPage = true });

        await page.GetByRole(AriaRole.Link, new PageGetByRoleOptions { Name = "Sign out" }).ClickAsync();
        await page.Locator("main form button[type=submit]").ClickAsync();
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("You are signed out");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "pages-signed-out.png"), FullPage = true });
        await page.GotoAsync("/account");
        await Assertions.Expect(page).ToHaveURLAsync(gateway.BaseAddress + "sign-in?returnUrl=%2Faccount");

        problems.Should().BeEmpty();
    }
}

/// <summary>
/// A fact that needs Debian's chromium. It skips, saying why, only where <c>/usr/bin/chromium</c> is missing;
/// <c>./scripts/test.sh</c> installs it, so CI always runs it.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class ChromiumFactAttribute : FactAttribute
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(ChromiumPath))
        {
            Skip = $"{ChromiumPath} is missing: install Debian's chromium (apt-get install chromium), or run ./scripts/test.sh as root, which does.";
        }
    }
}
