using System.Net;
using EligibilityGateway.Tests.Infrastructure;

namespace EligibilityGateway.Tests.Pages;

/// <summary>Sign-in and sign-out of the pages against the sandbox directory (auditors and test citizens).</summary>
public sealed class SignInTests : IAsyncLifetime
{
    private PageGateway gateway = null!;

    public async Task InitializeAsync() => gateway = await PageGateway.StartAsync();

    public async Task DisposeAsync() => await gateway.DisposeAsync();

    [Theory]
    [InlineData("smith", "Smith", "AB 12 34 56 C", "1 January 1990")]
    [InlineData("khan", "Khan", "240712349", "1 January 1990")]
    [InlineData("Taylor ", "Taylor", "EH 34 56 78 B", "30 November 1978")]
    public async Task Citizen_SignsInAndLandsOnTheirAccount(string username, string surname, string identifier, string dateOfBirth)
    {
        using var signIn = await PageGateway.SignInAsync(gateway.Client, username, PageGateway.Password);

        signIn.StatusCode.Should().Be(HttpStatusCode.Redirect);
        signIn.Headers.Location!.OriginalString.Should().Be("/account");
        var account = await gateway.Client.GetStringAsync("/account");
        account.Should().Contain("<h1 class=\"govuk-heading-l\">Your account</h1>")
            .And.Contain(surname).And.Contain(identifier).And.Contain(dateOfBirth)
            .And.Contain("Sign out");
    }

    [Theory]
    [InlineData("auditor", "every council")]
    [InlineData("leeds-auditor", "Leeds City Council")]
    public async Task Auditor_SignsInAndSeesTheirScope(string username, string scope)
    {
        using var signIn = await PageGateway.SignInAsync(gateway.Client, username, PageGateway.Password);

        signIn.StatusCode.Should().Be(HttpStatusCode.Redirect);
        signIn.Headers.Location!.OriginalString.Should().Be("/");
        var start = await gateway.Client.GetStringAsync("/");
        start.Should().Contain($"You are signed in as the auditor {username}. You may see the records of checks made by {scope}.");
    }

    [Fact]
    public async Task Auditor_IsRefusedTheCitizenAccountWith403()
    {
        await PageGateway.SignInAsync(gateway.Client, "auditor", PageGateway.Password);

        using var response = await gateway.Client.GetAsync("/account");

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await response.Content.ReadAsStringAsync()).Should().Contain("You cannot see this page");
        response.Headers.Contains("Content-Security-Policy").Should().BeTrue();
    }

    [Fact]
    public async Task WrongPasswordAndUnknownUser_GetTheSameAnswer()
    {
        using var wrongPassword = await PageGateway.SignInAsync(gateway.Client, "smith", "not-the-password");
        using var unknownUser = await PageGateway.SignInAsync(gateway.NewClient(new CookieContainer()), "smyth", "not-the-password");

        wrongPassword.StatusCode.Should().Be(HttpStatusCode.OK);
        unknownUser.StatusCode.Should().Be(wrongPassword.StatusCode);
        var wrongHtml = PageGateway.WithoutTokens(await wrongPassword.Content.ReadAsStringAsync()).Replace("value=\"smith\"", "", StringComparison.Ordinal);
        var unknownHtml = PageGateway.WithoutTokens(await unknownUser.Content.ReadAsStringAsync()).Replace("value=\"smyth\"", "", StringComparison.Ordinal);
        unknownHtml.Should().Be(wrongHtml);
        wrongHtml.Should().Contain("<title>Error: Sign in – Eligibility Gateway</title>")
            .And.Contain("There is a problem")
            .And.Contain("<a href=\"#username\">Enter a correct username and password</a>");
        foreach (var response in new[] { wrongPassword, unknownUser })
        {
            response.Headers.TryGetValues("Set-Cookie", out var cookies);
            (cookies ?? []).Should().NotContain(c => c.StartsWith("egw-session=", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task EmptyFields_AreEachNamedInTheErrorSummary()
    {
        using var response = await PageGateway.SignInAsync(gateway.Client, "", "");

        var html = await response.Content.ReadAsStringAsync();
        html.Should().Contain("<a href=\"#username\">Enter your username</a>").And.Contain("<a href=\"#password\">Enter your password</a>")
            .And.Contain("id=\"username-error\"").And.Contain("aria-describedby=\"password-error\"");
    }

    [Fact]
    public async Task TwentyFailuresFromAnywhere_ThrottleThatUsernameEvenWithTheRightPassword_With429AndRetryAfter()
    {
        // Each guess from its own address, as a spread-out attacker's, so that only the username's limit applies.
        for (var attempt = 0; attempt < 20; attempt++)
        {
            using var guesser = LoopbackSource.Client(gateway.BaseAddress, LoopbackSource.Address(attempt));
            using var guess = await PageGateway.SignInAsync(guesser, "jones", "guess-" + attempt);
            guess.StatusCode.Should().Be(HttpStatusCode.OK);
            (await guess.Content.ReadAsStringAsync()).Should().Contain("Enter a correct username and password", $"guess {attempt + 1} is within the limit");
        }

        using var person = LoopbackSource.Client(gateway.BaseAddress, LoopbackSource.Address(100));
        using var throttled = await PageGateway.SignInAsync(person, "jones", PageGateway.Password);
        using var otherUser = await PageGateway.SignInAsync(person, "brown", PageGateway.Password);

        throttled.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        throttled.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromMinutes(1));
        var html = await throttled.Content.ReadAsStringAsync();
        html.Should().Contain("<title>Error: Sign in – Eligibility Gateway</title>")
            .And.Contain("<a href=\"#username\">You have tried to sign in too many times. Wait 1 minute, then try again</a>")
            .And.Contain("name=\"password\"", "the form is shown again");
        throttled.Headers.TryGetValues("Set-Cookie", out var cookies);
        (cookies ?? []).Should().NotContain(c => c.StartsWith("egw-session=", StringComparison.Ordinal));
        otherUser.StatusCode.Should().Be(HttpStatusCode.Redirect, "another username from the same address is not throttled");
    }

    [Theory]
    [InlineData("https://evil.example/account")]
    [InlineData("//evil.example/account")]
    [InlineData("/\\evil.example/account")]
    [InlineData("javascript:alert(1)")]
    [InlineData("~/account")]
    public async Task ReturnUrl_ThatLeavesTheSite_IsIgnored(string returnUrl)
    {
        using var response = await PageGateway.SignInAsync(gateway.Client, "smith", PageGateway.Password, returnUrl);

        response.StatusCode.Should().Be(HttpStatusCode.Redirect);
        response.Headers.Location!.OriginalString.Should().Be("/account");
    }

    [Fact]
    public async Task ReturnUrl_OnThisSite_IsFollowed()
    {
        using var response = await PageGateway.SignInAsync(gateway.Client, "leeds-auditor", PageGateway.Password, "/sign-out?from=audit");

        response.Headers.Location!.OriginalString.Should().Be("/sign-out?from=audit");
    }

    [Fact]
    public async Task SignedOutVisitor_IsSentToSignInWithTheReturnPath()
    {
        using var response = await gateway.Client.GetAsync("/account");

        response.StatusCode.Should().Be(HttpStatusCode.Redirect);
        response.Headers.Location!.PathAndQuery.Should().Be("/sign-in?returnUrl=%2Faccount");
    }

    [Fact]
    public async Task SignOut_EndsTheSession()
    {
        await PageGateway.SignInAsync(gateway.Client, "brown", PageGateway.Password);
        var token = await PageGateway.AntiforgeryTokenAsync(gateway.Client, "/sign-out");

        using var signOut = await gateway.Client.PostAsync("/sign-out", new FormUrlEncodedContent([new("__RequestVerificationToken", token)]));

        signOut.StatusCode.Should().Be(HttpStatusCode.Redirect);
        signOut.Headers.Location!.OriginalString.Should().Be("/sign-out");
        (await gateway.Client.GetStringAsync("/sign-out")).Should().Contain("You are signed out");
        (await gateway.Client.GetAsync("/account")).StatusCode.Should().Be(HttpStatusCode.Redirect);
    }
}
