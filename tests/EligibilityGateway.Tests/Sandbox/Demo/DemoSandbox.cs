using System.Net;
using System.Text.RegularExpressions;
using EligibilityGateway.Sandbox;
using EligibilityGateway.Tests.TrustFramework;
using EligibilityGateway.TrustFramework;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace EligibilityGateway.Tests.Sandbox.Demo;

/// <summary>
/// The sandbox on free loopback ports with the demo council reachable as a browser would reach it. The gateway matches
/// redirect URIs exactly, and the sandbox framework registers the demo's callback on port 8080 only; so this fixture
/// runs the sandbox with a copy of <c>trust-frameworks/sandbox.yaml</c> and, once the port is known, rewrites the
/// copy's demo callbacks to it and lets the gateway's own reload pick the change up, as an operator would.
/// </summary>
public partial class DemoSandbox : IAsyncLifetime
{
    private readonly string directory = Directory.CreateTempSubdirectory("egw-demo-").FullName;

    internal SandboxHost Host { get; private set; } = null!;

    internal Uri Address => Host.GatewayAddress;

    /// <summary>The demo callback at the port the gateway actually listens on.</summary>
    internal string CallbackUri => new Uri(Address, "/demo/callback").AbsoluteUri;

    public async Task InitializeAsync()
    {
        var framework = Path.Combine(directory, "sandbox.yaml");
        File.Copy(TrustFrameworkFiles.SandboxPath, framework);
        Host = await StartAsync(directory, framework, Configure);

        var yaml = await File.ReadAllTextAsync(framework);
        yaml.Should().Contain("http://127.0.0.1:8080/demo/callback");
        await File.WriteAllTextAsync(framework, yaml.Replace("http://127.0.0.1:8080/demo/callback", CallbackUri, StringComparison.Ordinal));

        // The monitor acts on a change once two polls read the same bytes; poll until the new framework is in force.
        var monitor = Host.GatewayServices.GetRequiredService<TrustFrameworkMonitor>();
        for (var attempt = 0; !Registered(monitor); attempt++)
        {
            attempt.Should().BeLessThan(100, "the gateway reloads the rewritten framework");
            monitor.Poll();
            await Task.Delay(50);
        }
    }

    /// <summary>A sandbox on free ports with <paramref name="framework"/>, its data under <paramref name="root"/>.</summary>
    internal static Task<SandboxHost> StartAsync(string root, string? framework, Action<WebApplicationBuilder>? configure = null) => SandboxHost.StartAsync(
        new SandboxOptions
        {
            GatewayUrl = new Uri("http://127.0.0.1:0"),
            MockUrl = new Uri("http://127.0.0.1:0"),
            DataDirectory = Path.Combine(root, "data"),
            TrustFrameworkPath = framework,
        },
        configure);

    /// <summary>Adds to the gateway's composition, after the sandbox's own settings.</summary>
    protected virtual void Configure(WebApplicationBuilder builder)
    {
    }

    private bool Registered(TrustFrameworkMonitor monitor) =>
        monitor.Current.Definition.Councils.Single(c => c.Id == "leeds").RedirectUris.Any(u => u.AbsoluteUri == CallbackUri);

    /// <summary>A new browser: its own cookies, redirects not followed so that each hop can be judged.</summary>
    internal HttpClient NewBrowser() => new(new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true, AllowAutoRedirect = false })
    {
        BaseAddress = Address,
    };

    /// <summary>The demo's start form posted as a browser would (the session's antiforgery token read off the page).</summary>
    internal static async Task<HttpResponseMessage> StartAsync(HttpClient browser, string council = "leeds", string scheme = "free-school-meals", string caseReference = "FSM-DEMO-TEST")
    {
        var token = await DemoTokenAsync(browser, "/demo");
        return await browser.PostAsync("/demo/start", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__DemoRequestVerificationToken"] = token,
            ["council"] = council,
            ["scheme"] = scheme,
            ["caseReference"] = caseReference,
        }));
    }

    /// <summary>The demo antiforgery token of the form on <paramref name="path"/>.</summary>
    internal static async Task<string> DemoTokenAsync(HttpClient browser, string path)
    {
        using var page = await browser.GetAsync(path);
        var html = await page.Content.ReadAsStringAsync();
        page.StatusCode.Should().Be(HttpStatusCode.OK, html);
        var match = DemoTokenPattern().Match(html);
        match.Success.Should().BeTrue("the demo's form carries its antiforgery token");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    /// <summary>
    /// The citizen's part, in the same browser: from the 303 to the authorization endpoint, sign in as
    /// <paramref name="username"/>, press <paramref name="decision"/> on the consent page, and return where the gateway
    /// sends the browser back (the demo's callback, not yet visited).
    /// </summary>
    internal static async Task<Uri> AuthoriseAsync(HttpClient browser, HttpResponseMessage toAuthorize, string username = "smith", string decision = "allow")
    {
        toAuthorize.StatusCode.Should().Be(HttpStatusCode.SeeOther, await toAuthorize.Content.ReadAsStringAsync());
        var authorize = toAuthorize.Headers.Location!;
        var path = authorize.PathAndQuery;
        var signInToken = await GatewayTokenAsync(browser, "/sign-in?returnUrl=" + Uri.EscapeDataString(path));
        using (var signedIn = await browser.PostAsync("/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = signInToken,
            ["username"] = username,
            ["password"] = "sandbox",
            ["returnUrl"] = path,
        })))
        {
            signedIn.StatusCode.Should().Be(HttpStatusCode.Redirect);
        }

        var consentToken = await GatewayTokenAsync(browser, path);
        using var decided = await browser.PostAsync(path, new FormUrlEncodedContent(EligibilityGateway.Tests.Authorization.CodeFlowDriver.DecisionForm(path, consentToken, decision)));
        decided.StatusCode.Should().Be(HttpStatusCode.SeeOther);
        using var continued = await browser.GetAsync(decided.Headers.Location);
        continued.StatusCode.Should().Be(HttpStatusCode.Redirect);
        return continued.Headers.Location!;
    }

    private static async Task<string> GatewayTokenAsync(HttpClient browser, string path)
    {
        using var page = await browser.GetAsync(path);
        var html = await page.Content.ReadAsStringAsync();
        page.StatusCode.Should().Be(HttpStatusCode.OK, html);
        var match = GatewayTokenPattern().Match(html);
        match.Success.Should().BeTrue("the gateway's form carries its antiforgery token");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    /// <summary>The rules of the <c>token-issued</c> audit records so far (<c>token:{grant}/{client authentication}</c>).</summary>
    internal async Task<IReadOnlyList<string>> TokenIssuancesAsync()
    {
        var store = Host.GatewayServices.GetRequiredService<EligibilityGateway.Audit.IAuditStore>();
        var rules = new List<string>();
        for (long from = 1; ;)
        {
            var page = await store.ReadAsync(from, 500, CancellationToken.None);
            rules.AddRange(page.Where(r => r.Entry.EventType == EligibilityGateway.Audit.AuditEventTypes.TokenIssued).Select(r => r.Entry.Rule ?? ""));
            if (page.Count < 500)
            {
                return rules;
            }

            from = page[^1].Sequence + 1;
        }
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    [GeneratedRegex("name=\"__DemoRequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex DemoTokenPattern();

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex GatewayTokenPattern();
}
