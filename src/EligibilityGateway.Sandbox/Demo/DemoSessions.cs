using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace EligibilityGateway.Sandbox.Demo;

/// <summary>
/// One browser's visit to the demo council, held on the server: the browser holds only a random cookie naming it.
/// The PKCE verifier, <c>state</c> and tokens never leave the server, so nothing secret is ever in a URL, a page
/// or a cookie. Members are read and written under <see cref="Gate"/>.
/// </summary>
internal sealed class DemoSession(string antiforgeryToken, DateTimeOffset now)
{
    /// <summary>Serialises what one browser does (a double click on a button must not exchange a code twice).</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Synchroniser token for this session's forms (OWASP CSRF cheat sheet), compared in constant time.</summary>
    public string AntiforgeryToken { get; } = antiforgeryToken;

    public DateTimeOffset LastSeen { get; set; } = now;

    public DemoCouncil? Council { get; set; }

    public DemoScheme? Scheme { get; set; }

    public string? CaseReference { get; set; }

    public string? ConsentId { get; set; }

    /// <summary>RFC 6749 §10.12: the <c>state</c> of the one authorization in flight; cleared when its callback arrives.</summary>
    public string? PendingState { get; set; }

    /// <summary>RFC 7636 §4.1: the verifier whose S256 challenge went in the pushed request.</summary>
    public string? CodeVerifier { get; set; }

    public DemoTokens? Tokens { get; set; }

    /// <summary>What the last step came to, for the answer page.</summary>
    public DemoResult? Result { get; set; }

    /// <summary>The bulk check this visit submitted (Demo/README.md, "Bulk check"), and the rows the gateway rejected.</summary>
    public DemoBulk? Bulk { get; set; }

    /// <summary>Forgets an earlier run (its tokens included) before a new one starts.</summary>
    public void Reset()
    {
        Council = null;
        Scheme = null;
        CaseReference = null;
        ConsentId = null;
        PendingState = null;
        CodeVerifier = null;
        Tokens = null;
        Result = null;
    }

    public bool IsAntiforgeryToken(string? candidate) =>
        candidate is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(candidate), Encoding.UTF8.GetBytes(AntiforgeryToken));
}

/// <summary>What the answer page shows.</summary>
internal abstract record DemoResult
{
    /// <summary>The gateway answered the check.</summary>
    public sealed record Answered(JsonElement Answer, int CheckNumber) : DemoResult;

    /// <summary>A step was refused by the gateway, in its words.</summary>
    public sealed record Refused(string Step, int Status, string Title, string? Detail, string? Type, string? ConsentStatus) : DemoResult;

    /// <summary>The citizen pressed Deny, or the authorization otherwise ended without a code (RFC 6749 §4.1.2.1).</summary>
    public sealed record NotAuthorised(string Error, string? Description) : DemoResult;
}

/// <summary>
/// The demo's sessions, in memory (the demo runs in one sandbox process), each found by the SHA-256 of its cookie so
/// that a lookup's timing says nothing about live cookie values. Idle sessions expire; there is a cap on how many live.
/// </summary>
internal sealed class DemoSessions(TimeProvider timeProvider)
{
    /// <summary>The cookie naming the session; scoped to <c>/demo</c>, so the gateway's own pages never receive it.</summary>
    public const string CookieName = "egw-demo";

    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(30);

    private const int MaxSessions = 10_000;

    private readonly ConcurrentDictionary<string, DemoSession> sessions = new(StringComparer.Ordinal);

    /// <summary>The request's session, if its cookie names a live one.</summary>
    public DemoSession? Find(HttpContext context)
    {
        var now = timeProvider.GetUtcNow();
        if (context.Request.Cookies[CookieName] is not { Length: > 0 } cookie || !sessions.TryGetValue(Key(cookie), out var session))
        {
            return null;
        }

        if (now - session.LastSeen > IdleTimeout)
        {
            sessions.TryRemove(Key(cookie), out _);
            return null;
        }

        session.LastSeen = now;
        return session;
    }

    /// <summary>The request's session, or a new one whose cookie is set on the response.</summary>
    public DemoSession FindOrStart(HttpContext context)
    {
        if (Find(context) is { } existing)
        {
            return existing;
        }

        var now = timeProvider.GetUtcNow();
        if (sessions.Count >= MaxSessions)
        {
            foreach (var (key, stale) in sessions)
            {
                if (now - stale.LastSeen > IdleTimeout)
                {
                    sessions.TryRemove(key, out _);
                }
            }

            // Still full of live sessions: the least recently seen goes, so memory stays bounded.
            if (sessions.Count >= MaxSessions && sessions.MinBy(s => s.Value.LastSeen) is { Key: { } oldest })
            {
                sessions.TryRemove(oldest, out _);
            }
        }

        var cookie = Random();
        var session = new DemoSession(Random(), now);
        sessions[Key(cookie)] = session;
        context.Response.Cookies.Append(CookieName, cookie, new CookieOptions
        {
            HttpOnly = true,
            Secure = context.Request.IsHttps,

            // Lax: the callback is a top-level navigation the gateway redirects to, which must arrive with the cookie.
            SameSite = SameSiteMode.Lax,
            Path = DemoCouncilEndpoints.BasePath,
            IsEssential = true,
        });
        return session;
    }

    /// <summary>32 random bytes, base64url: a cookie value, an antiforgery token, a <c>state</c> or a PKCE verifier (RFC 7636 §4.1).</summary>
    public static string Random() => System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    private static string Key(string cookie) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(cookie)));
}
