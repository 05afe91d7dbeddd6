using System.Net;
using System.Text.RegularExpressions;
using EligibilityGateway.Tests.Infrastructure;
using EligibilityGateway.Testing;
using Microsoft.AspNetCore.Builder;

namespace EligibilityGateway.Tests.Pages;

/// <summary>
/// The gateway as it runs, on a free loopback port, with a browser-like client: cookies kept, redirects not followed
/// (so tests see each 302), and helpers that read the antiforgery token off a page as a browser's form would send it.
/// </summary>
internal sealed partial class PageGateway : IAsyncDisposable
{
    public const string Password = "sandbox";

    private readonly string dataDirectory;

    private PageGateway(WebApplication app, Uri baseAddress, string dataDirectory)
    {
        App = app;
        BaseAddress = baseAddress;
        this.dataDirectory = dataDirectory;
        Client = NewClient();
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    /// <summary>The gateway's storage directory (the audit database is <c>audit.db</c> in it); deleted on dispose.</summary>
    public string DataDirectory => dataDirectory;

    /// <summary>A client with its own cookie jar, like one browser.</summary>
    public HttpClient Client { get; }

    public CookieContainer Cookies { get; } = new();

    public static async Task<PageGateway> StartAsync()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("gateway-pages-").FullName;
        var app = TestGateway.Build(dataDirectory);
        try
        {
            return new PageGateway(app, await app.StartOnFreePortAsync(), dataDirectory);
        }
        catch
        {
            await app.DisposeAsync();
            Directory.Delete(dataDirectory, recursive: true);
            throw;
        }
    }

    /// <summary>Another browser: its own cookie jar.</summary>
    public HttpClient NewClient(CookieContainer? cookies = null) =>
        new(new HttpClientHandler { CookieContainer = cookies ?? (Client is null ? Cookies : new CookieContainer()), AllowAutoRedirect = false, UseCookies = true })
        {
            BaseAddress = BaseAddress,
        };

    /// <summary>The antiforgery token of the first form on <paramref name="path"/>, fetched with <paramref name="client"/>.</summary>
    public static async Task<string> AntiforgeryTokenAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var html = await response.Content.ReadAsStringAsync();
        var match = TokenPattern().Match(html);
        match.Success.Should().BeTrue("the page's form carries an antiforgery token");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    /// <summary>Posts the sign-in form as a browser would: token from the page, fields as typed.</summary>
    public static async Task<HttpResponseMessage> SignInAsync(HttpClient client, string username, string password, string? returnUrl = null)
    {
        var path = returnUrl is null ? "/sign-in" : "/sign-in?returnUrl=" + Uri.EscapeDataString(returnUrl);
        var token = await AntiforgeryTokenAsync(client, path);
        var form = new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["username"] = username,
            ["password"] = password,
        };
        if (returnUrl is not null)
        {
            form["returnUrl"] = returnUrl;
        }

        return await client.PostAsync("/sign-in", new FormUrlEncodedContent(form));
    }

    /// <summary>The page's HTML with the parts that differ between two renderings of the same page removed.</summary>
    public static string WithoutTokens(string html) => TokenPattern().Replace(NoncePattern().Replace(html, "nonce=\"\""), "value=\"\"");

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();

    [GeneratedRegex("nonce=\"[^\"]+\"")]
    private static partial Regex NoncePattern();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.DisposeAsync();
        Directory.Delete(dataDirectory, recursive: true);
    }
}
