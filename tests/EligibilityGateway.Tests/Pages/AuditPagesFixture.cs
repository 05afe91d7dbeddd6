using System.Net;
using EligibilityGateway.Audit;
using EligibilityGateway.Checks;
using EligibilityGateway.Tests.Audit;
using Microsoft.Extensions.DependencyInjection;
using EligibilityGateway.Tests.EndToEnd;

namespace EligibilityGateway.Tests.Pages;

/// <summary>
/// The sandbox composition (gateway, mock, Redis) with checks made through the check API before the audit pages are
/// read: Leeds asks about Smith (eligible), Jones (not eligible) and Brown (not found) under public task, and Camden
/// asks under public task, which the framework refuses, so both councils have records. Each case reference names the
/// council, so a page can be searched for another council's records.
/// </summary>
public sealed class AuditPagesFixture : SandboxFixture, IAsyncLifetime
{
    public const string LeedsSmith = "AUDIT-PAGE-LEEDS-SMITH";
    public const string LeedsJones = "AUDIT-PAGE-LEEDS-JONES";
    public const string LeedsBrown = "AUDIT-PAGE-LEEDS-BROWN";
    public const string CamdenRefused = "AUDIT-PAGE-CAMDEN-REFUSED";

    /// <summary>A scheme id no real check uses, carried by records appended for the paging tests only.</summary>
    public const string PagingScheme = "audit-page-paging";

    public const int PagingRecords = 120;

    /// <summary>Records about Khan (by the sandbox's own subject-reference key), for paging a subject search.</summary>
    public const int KhanRecords = 60;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await InitializeAsync();
        var leeds = await TokenAsync("leeds");
        var camden = await TokenAsync("camden");
        foreach (var (token, subject, reference, status) in new[]
        {
            (leeds, Subjects.Smith, LeedsSmith, HttpStatusCode.OK),
            (leeds, Subjects.Jones, LeedsJones, HttpStatusCode.OK),
            (leeds, Subjects.Brown, LeedsBrown, HttpStatusCode.OK),
            (camden, Subjects.Taylor, CamdenRefused, HttpStatusCode.Forbidden),
        })
        {
            using var response = await PostCheckAsync(token, Subjects.Check(subject, caseReference: reference));
            response.StatusCode.Should().Be(status, await response.Content.ReadAsStringAsync());
        }

        await this.AppendDirectlyAsync(PagingRecords, n => AuditTestLog.Check(n) with { SchemeId = PagingScheme, CaseReference = $"PAGING-{n:D4}" });
        var khan = Sandbox.GatewayServices.GetRequiredService<SubjectReferences>()
            .Compute(new Subject(IdentifierKind.NationalAsylumSeekerServiceNumber, "240712349", "Khan", new DateOnly(1990, 1, 1)));
        await this.AppendDirectlyAsync(KhanRecords, n => AuditTestLog.Check(n) with { SchemeId = PagingScheme + "-khan", SubjectReference = khan, CaseReference = $"KHAN-{n:D4}" });
    }

    /// <summary>A new browser (its own cookie jar, redirects not followed) signed in as <paramref name="username"/>, landing on /audit.</summary>
    internal async Task<HttpClient> SignedInAsync(string username)
    {
        var client = Browser();
        using var response = await PageGateway.SignInAsync(client, username, PageGateway.Password, "/audit");
        response.StatusCode.Should().Be(HttpStatusCode.Redirect);
        response.Headers.Location!.OriginalString.Should().Be("/audit");
        return client;
    }

    /// <summary>A browser nobody has signed in with.</summary>
    internal HttpClient Browser() =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true, AllowAutoRedirect = false }) { BaseAddress = Sandbox.GatewayAddress };
}
