using System.Security.Cryptography;
using Microsoft.Net.Http.Headers;

namespace EligibilityGateway.Pages;

/// <summary>Marks an endpoint as a human-facing page: it gets the page security headers and the page session.</summary>
internal sealed class PageEndpointMetadata
{
    public static PageEndpointMetadata Instance { get; } = new();
}

/// <summary>
/// The security headers of every page response, set when the response starts so that error pages
/// carry them too. JSON APIs are not touched: they have their own rules. Pages/README.md says why each is here.
/// </summary>
internal static class PageSecurityHeaders
{
    private const string NonceItem = "EligibilityGateway.Pages.CspNonce";

    /// <summary>Features no page uses, switched off so that nothing a page embeds can ask for them.</summary>
    public const string PermissionsPolicy =
        "accelerometer=(), autoplay=(), camera=(), display-capture=(), encrypted-media=(), fullscreen=(), geolocation=(), " +
        "gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), picture-in-picture=(), publickey-credentials-get=(), " +
        "screen-wake-lock=(), sync-xhr=(), usb=(), xr-spatial-tracking=()";

    /// <summary>The Content-Security-Policy of a page whose one inline script carries <paramref name="nonce"/>.</summary>
    public static string ContentSecurityPolicy(string nonce) =>
        "default-src 'self'; " +
        $"script-src 'self' 'nonce-{nonce}'; " +
        "style-src 'self'; img-src 'self'; font-src 'self'; connect-src 'self'; manifest-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>The nonce of this request's inline script; the layout writes it on the one script it has.</summary>
    public static string GetCspNonce(this HttpContext context) =>
        context.Items[NonceItem] as string ?? throw new InvalidOperationException("Not a page request: no CSP nonce was issued.");

    /// <summary>
    /// <see cref="Apply"/> unless it already ran for this request: an error page for a request refused before the
    /// page middleware ran (an unreadable body) needs the headers and a nonce too.
    /// </summary>
    public static void EnsureApplied(HttpContext context)
    {
        if (!context.Items.ContainsKey(NonceItem))
        {
            Apply(context);
        }
    }

    /// <summary>Adds the headers to <paramref name="context"/>'s response when it starts.</summary>
    public static void Apply(HttpContext context)
    {
        // base64url (CSP 3 allows '-' and '_'): nothing in it that HTML encoding would rewrite, so the attribute the
        // layout writes is byte for byte the value in the header.
        var nonce = System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));
        context.Items[NonceItem] = nonce;
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy(nonce);
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers["Permissions-Policy"] = PermissionsPolicy;
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            headers["Cross-Origin-Resource-Policy"] = "same-origin";

            // Every page shows who is signed in, and many carry an antiforgery token or a person's details.
            headers.CacheControl = "no-store";
            headers.Pragma = "no-cache";
            if (context.Request.IsHttps)
            {
                headers.StrictTransportSecurity = "max-age=31536000; includeSubDomains";
            }

            return Task.CompletedTask;
        });
    }

    /// <summary>Headers of the static files the pages load (styles, scripts, fonts, images).</summary>
    public static void ApplyToAsset(HttpResponse response)
    {
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Cross-Origin-Resource-Policy"] = "same-origin";
        response.Headers.CacheControl = new CacheControlHeaderValue { Public = true, MaxAge = TimeSpan.FromHours(1) }.ToString();
    }
}
