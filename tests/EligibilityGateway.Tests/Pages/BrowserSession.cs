using EligibilityGateway.Tests.TrustFramework;
using Microsoft.Playwright;

namespace EligibilityGateway.Tests.Pages;

/// <summary>
/// One headless Debian chromium with one page, driven by Playwright, for the browser tests. It collects every console
/// error or warning, page error, failed request and 4xx/5xx response into <see cref="Problems"/>, so a test that
/// ends with <c>Problems.Should().BeEmpty()</c> also proves the pages ran under the strict CSP without complaint.
/// Screenshots go to <c>artifacts/screenshots/</c> at the repository root, which CI keeps as test artefacts.
/// </summary>
internal sealed class BrowserSession : IAsyncDisposable
{
    private static readonly string ScreenshotDirectory = Path.Combine(TrustFrameworkFiles.RepositoryRoot, "artifacts", "screenshots");

    private readonly IPlaywright playwright;
    private readonly IBrowser browser;
    private readonly List<string> problems = [];

    private BrowserSession(IPlaywright playwright, IBrowser browser, IPage page)
    {
        this.playwright = playwright;
        this.browser = browser;
        Page = page;
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
    }

    /// <summary>The page, with relative URLs resolved against the base address it was opened with.</summary>
    public IPage Page { get; }

    /// <summary>What went wrong in the browser so far, in the order it happened.</summary>
    public IReadOnlyList<string> Problems => problems;

    /// <summary>Starts chromium and opens a page whose relative URLs resolve against <paramref name="baseAddress"/>.</summary>
    public static async Task<BrowserSession> OpenAsync(Uri baseAddress, ViewportSize? viewport = null)
    {
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ChromiumFactAttribute.ChromiumPath,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
            });
            try
            {
                var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = baseAddress.ToString(), ViewportSize = viewport });
                return new BrowserSession(playwright, browser, page);
            }
            catch
            {
                await browser.DisposeAsync();
                throw;
            }
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>Saves a full-page screenshot as <c>artifacts/screenshots/<paramref name="name"/>.png</c>.</summary>
    public async Task ScreenshotAsync(string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });
    }

    public async ValueTask DisposeAsync()
    {
        await browser.DisposeAsync();
        playwright.Dispose();
    }
}
