using System.Security.Cryptography;
using System.Text;
using EligibilityGateway.Pages;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EligibilityGateway.Sandbox.Demo;

/// <summary>
/// The demo council web app (README.md), mounted at <c>/demo</c> on the sandbox gateway's origin because the sandbox
/// framework registers <c>http://127.0.0.1:8080/demo/callback</c> for its councils. It is an OAuth client of the
/// gateway like any other: everything it asks goes over HTTP to the gateway's address (<see cref="DemoGatewayClient"/>).
/// See Demo/README.md.
/// </summary>
internal static class DemoCouncilEndpoints
{
    public const string BasePath = "/demo";
    public const string StartPath = "/demo/start";
    public const string CallbackPath = "/demo/callback";
    public const string AnswerPath = "/demo/answer";
    public const string CheckAgainPath = "/demo/check-again";

    /// <summary>A token this close to its expiry is refreshed before use rather than sent to be refused.</summary>
    private static readonly TimeSpan ExpiryLeeway = TimeSpan.FromSeconds(10);

    /// <summary>The demo's services: its sessions and its HTTP client of the gateway.</summary>
    public static IServiceCollection AddDemoCouncil(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<DemoSessions>();
        services.AddHttpClient<DemoGatewayClient>(client => client.Timeout = TimeSpan.FromSeconds(30))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false })

            // The walkthrough is the sandbox console's one voice; a line per demo request would bury it.
            .RemoveAllLoggers();
        return services;
    }

    /// <summary>Maps the demo's pages; kept out of the gateway's OpenAPI document, which describes the gateway alone.</summary>
    public static IEndpointRouteBuilder MapDemoCouncil(this IEndpointRouteBuilder endpoints)
    {
        var demo = endpoints.MapGroup(BasePath)
            .ExcludeFromDescription()
            .AddEndpointFilter(async (context, next) =>
            {
                // The same headers as the gateway's pages: strict CSP (form-action 'self', frame-ancestors 'none'),
                // nosniff, no-referrer, no-store, COOP.
                PageSecurityHeaders.Apply(context.HttpContext);
                return await next(context);
            });
        demo.MapGet("", StartPage);
        demo.MapPost("/start", StartAsync);
        demo.MapGet("/callback", CallbackAsync);
        demo.MapGet("/answer", AnswerPage);
        demo.MapPost("/check-again", CheckAgainAsync);
        demo.MapDemoBulk();
        return endpoints;
    }

    private static IResult StartPage(HttpContext context, DemoSessions sessions, DemoGatewayClient gateway)
    {
        // One origin for the whole visit: the redirect URI is at the gateway's address, and the session cookie must be
        // on the same host when the gateway sends the browser back (localhost and 127.0.0.1 keep separate cookies).
        var canonical = gateway.GatewayAddress;
        if (!string.Equals(context.Request.Host.Value, canonical.Authority, StringComparison.OrdinalIgnoreCase))
        {
            return Results.Redirect(new Uri(canonical, BasePath).AbsoluteUri);
        }

        var session = sessions.FindOrStart(context);
        return Html(DemoPages.Start(session, "DEMO-" + DemoSessions.Random()[..6].ToUpperInvariant(), error: null, hasAnswer: session.Result is not null));
    }

    /// <summary>Create the consent, push the authorization request, and send the browser to the gateway.</summary>
    private static async Task<IResult> StartAsync(HttpContext context, DemoSessions sessions, DemoGatewayClient gateway, CancellationToken cancellationToken)
    {
        if (await ReadPostAsync(context, sessions) is not ({ } session, { } form))
        {
            return Forbidden();
        }

        var council = DemoCouncil.Find(form[DemoPages.FieldCouncil]);
        var scheme = DemoScheme.Find(form[DemoPages.FieldScheme]);
        var caseReference = form[DemoPages.FieldCaseReference].ToString().Trim();
        if (council is null || scheme is null)
        {
            return Html(DemoPages.Problem("Sorry, there is a problem with the form", "Choose one of the councils and one of the schemes offered."), StatusCodes.Status400BadRequest);
        }

        if (caseReference.Length == 0)
        {
            return Html(DemoPages.Start(session, caseReference, "Enter the case reference", session.Result is not null), StatusCodes.Status400BadRequest);
        }

        await session.Gate.WaitAsync(cancellationToken);
        try
        {
            session.Reset();
            session.Council = council;
            session.Scheme = scheme;
            session.CaseReference = caseReference;

            var discovery = await gateway.DiscoverAsync(cancellationToken);
            if (discovery is not DemoCall<DemoServerMetadata>.Succeeded { Value: var metadata })
            {
                return Show(session, (DemoCall<DemoServerMetadata>.Refused)discovery);
            }

            var token = await gateway.ClientCredentialsAsync(metadata, council, "consents.manage", cancellationToken);
            if (token is not DemoCall<DemoTokens>.Succeeded { Value: var councilToken })
            {
                return Show(session, (DemoCall<DemoTokens>.Refused)token);
            }

            var consent = await gateway.CreateConsentAsync(council, councilToken.AccessToken, scheme, caseReference, cancellationToken);
            if (consent is not DemoCall<string>.Succeeded { Value: var consentId })
            {
                return Show(session, (DemoCall<string>.Refused)consent);
            }

            session.ConsentId = consentId;
            var state = DemoSessions.Random();
            var verifier = DemoSessions.Random();
            var challenge = System.Buffers.Text.Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
            var pushed = await gateway.PushAsync(metadata, council, consentId, state, challenge, cancellationToken);
            if (pushed is not DemoCall<string>.Succeeded { Value: var requestUri })
            {
                return Show(session, (DemoCall<string>.Refused)pushed);
            }

            session.PendingState = state;
            session.CodeVerifier = verifier;

            // RFC 9126 §4: only client_id and the opaque request_uri travel through the browser.
            var authorize = QueryHelpers.AddQueryString(metadata.AuthorizationEndpoint.AbsoluteUri, new Dictionary<string, string?>
            {
                ["client_id"] = council.ClientId,
                ["request_uri"] = requestUri,
            });
            return new SeeOther(authorize);
        }
        finally
        {
            session.Gate.Release();
        }
    }

    /// <summary>
    /// The redirect URI. RFC 6749 §10.12: <c>state</c> must be the one this browser's session sent, once; RFC 9207 §2.4:
    /// <c>iss</c> must be the issuer the demo pushed the request to (the metadata promises it), which stops a code from
    /// another server being replayed here (mix-up). Only then is the code exchanged, with the PKCE verifier.
    /// </summary>
    private static async Task<IResult> CallbackAsync(HttpContext context, DemoSessions sessions, DemoGatewayClient gateway, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (sessions.Find(context) is not { } session)
        {
            return Html(DemoPages.Problem("Your visit has expired", "This browser has no demo visit in progress, so the answer the gateway sent back cannot be used. Nothing was exchanged."), StatusCodes.Status400BadRequest);
        }

        var query = context.Request.Query;
        await session.Gate.WaitAsync(cancellationToken);
        try
        {
            var expected = session.PendingState;
            if (expected is null || query["state"] is not { Count: 1 } state || !FixedTimeEquals(state.ToString(), expected))
            {
                return Html(DemoPages.Problem("This answer was not for this browser", "The state in the gateway's answer is not the one this browser's request sent, or it was already used. Nothing was exchanged."), StatusCodes.Status400BadRequest);
            }

            // The state is spent whatever follows: a second arrival of the same answer is refused above.
            session.PendingState = null;
            var verifier = session.CodeVerifier;
            session.CodeVerifier = null;

            var discovery = await gateway.DiscoverAsync(cancellationToken);
            if (discovery is not DemoCall<DemoServerMetadata>.Succeeded { Value: var metadata })
            {
                return Show(session, (DemoCall<DemoServerMetadata>.Refused)discovery);
            }

            if (query["iss"] is not { Count: 1 } iss || !string.Equals(iss.ToString(), metadata.Issuer, StringComparison.Ordinal))
            {
                return Html(DemoPages.Problem("This answer did not come from the gateway", "The answer's iss does not name the gateway this demo sent the request to (RFC 9207). Nothing was exchanged."), StatusCodes.Status400BadRequest);
            }

            if (query["error"] is { Count: 1 } error)
            {
                session.Result = new DemoResult.NotAuthorised(error.ToString(), query["error_description"].FirstOrDefault());
                return SeeAnswer();
            }

            if (query["code"] is not { Count: 1 } code || verifier is null || session.Council is not { } council || session.Scheme is not { } scheme)
            {
                return Html(DemoPages.Problem("The gateway's answer had no code", "The answer carries neither a code nor an error. Nothing was exchanged."), StatusCodes.Status400BadRequest);
            }

            var exchanged = await gateway.ExchangeCodeAsync(metadata, council, code.ToString(), verifier, cancellationToken);
            if (exchanged is not DemoCall<DemoTokens>.Succeeded { Value: var tokens })
            {
                Record(session, (DemoCall<DemoTokens>.Refused)exchanged);
                return SeeAnswer();
            }

            // RFC 9396 §7: the token must carry the consent this council asked the citizen about.
            if (!string.Equals(tokens.ConsentId, session.ConsentId, StringComparison.Ordinal))
            {
                session.Result = new DemoResult.Refused("Code exchange (POST /connect/token)", StatusCodes.Status200OK, "consent_mismatch",
                    "The token's authorization_details do not name the consent this council created.", null, null);
                return SeeAnswer();
            }

            session.Tokens = tokens;
            await CheckAsync(session, scheme, gateway, timeProvider, cancellationToken);

            // Post/redirect/get: the code leaves the address bar and the history at once.
            return SeeAnswer();
        }
        finally
        {
            session.Gate.Release();
        }
    }

    private static IResult AnswerPage(HttpContext context, DemoSessions sessions) =>
        sessions.Find(context) is { } session
            ? Html(DemoPages.Answer(session))
            : Results.Redirect(BasePath);

    /// <summary>The same consent-bound check once more, refreshing the access token first if it has run out.</summary>
    private static async Task<IResult> CheckAgainAsync(HttpContext context, DemoSessions sessions, DemoGatewayClient gateway, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (await ReadPostAsync(context, sessions) is not ({ } session, _))
        {
            return Forbidden();
        }

        await session.Gate.WaitAsync(cancellationToken);
        try
        {
            if (session.Tokens is null || session.Scheme is not { } scheme)
            {
                return Html(DemoPages.Problem("There is nothing to check again", "This visit holds no token from a resident's consent. Start again."), StatusCodes.Status400BadRequest);
            }

            await CheckAsync(session, scheme, gateway, timeProvider, cancellationToken);
            return SeeAnswer();
        }
        finally
        {
            session.Gate.Release();
        }
    }

    /// <summary>The check under the session's consent; an expired access token is refreshed first (RFC 6749 §6).</summary>
    private static async Task CheckAsync(DemoSession session, DemoScheme scheme, DemoGatewayClient gateway, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var tokens = session.Tokens!;
        if (tokens.ExpiresAt - ExpiryLeeway <= timeProvider.GetUtcNow() && tokens.RefreshToken is { } refreshToken)
        {
            var discovery = await gateway.DiscoverAsync(cancellationToken);
            if (discovery is not DemoCall<DemoServerMetadata>.Succeeded { Value: var metadata })
            {
                Record(session, (DemoCall<DemoServerMetadata>.Refused)discovery);
                return;
            }

            var refreshed = await gateway.RefreshAsync(metadata, session.Council!, refreshToken, cancellationToken);
            if (refreshed is not DemoCall<DemoTokens>.Succeeded { Value: var renewed })
            {
                Record(session, (DemoCall<DemoTokens>.Refused)refreshed);
                return;
            }

            session.Tokens = tokens = renewed with { RefreshToken = renewed.RefreshToken ?? refreshToken };
        }

        var checkNumber = session.Result is DemoResult.Answered previous ? previous.CheckNumber + 1 : 1;
        switch (await gateway.CheckAsync(tokens.AccessToken, scheme, session.CaseReference!, cancellationToken))
        {
            case DemoCall<System.Text.Json.JsonElement>.Succeeded answered:
                session.Result = new DemoResult.Answered(answered.Value, checkNumber);
                break;
            case DemoCall<System.Text.Json.JsonElement>.Refused refused:
                Record(session, refused);
                break;
        }
    }

    /// <summary>The session and form of a POST whose antiforgery token is this session's; otherwise nothing.</summary>
    internal static async Task<(DemoSession? Session, IFormCollection? Form)> ReadPostAsync(HttpContext context, DemoSessions sessions)
    {
        if (sessions.Find(context) is not { } session || !context.Request.HasFormContentType)
        {
            return (null, null);
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        return form[DemoPages.FieldAntiforgery] is { Count: 1 } token && session.IsAntiforgeryToken(token.ToString())
            ? (session, form)
            : (null, null);
    }

    internal static IResult Forbidden() => Html(
        DemoPages.Problem("Sorry, there is a problem with the form you sent", "The form did not come from this browser's visit to the demo, or the visit has expired. Nothing was done."),
        StatusCodes.Status400BadRequest);

    private static SeeOther Show<T>(DemoSession session, DemoCall<T>.Refused refused)
    {
        Record(session, refused);
        return SeeAnswer();
    }

    private static void Record<T>(DemoSession session, DemoCall<T>.Refused refused) =>
        session.Result = new DemoResult.Refused(refused.Step, refused.Status, refused.Title, refused.Detail, refused.Type, refused.ConsentStatus);

    private static SeeOther SeeAnswer() => new(AnswerPath);

    internal static IResult Html(string html, int status = StatusCodes.Status200OK) =>
        Results.Content(html, "text/html; charset=utf-8", Encoding.UTF8, status);

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    /// <summary>303 See Other: after a POST, the browser GETs the answer page (RFC 9110 §15.4.4).</summary>
    private sealed class SeeOther(string location) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status303SeeOther;
            httpContext.Response.Headers.Location = location;
            return Task.CompletedTask;
        }
    }
}
