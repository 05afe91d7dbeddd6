using Microsoft.Extensions.Options;

namespace EligibilityGateway.Authorization;

/// <summary>The authorization server's settings (configuration section <c>Authorization</c>).</summary>
internal sealed class AuthorizationServerOptions
{
    public const string SectionName = "Authorization";

    /// <summary>Access tokens are short-lived, at most ten minutes (README.md, "Configuration").</summary>
    public static readonly TimeSpan MaximumAccessTokenLifetime = TimeSpan.FromMinutes(10);

    /// <summary>A pushed authorization request's <c>request_uri</c> lives at most 600 seconds (README.md).</summary>
    public static readonly TimeSpan MaximumPushedRequestLifetime = TimeSpan.FromSeconds(600);

    /// <value>
    /// The issuer identifier (RFC 8414 §2), an absolute http(s) URL without query or fragment; a trailing slash is
    /// dropped. Default: derived once from the first address the gateway is bound to (see <see cref="GatewayIssuer"/>).
    /// Production sets it, so that every replica behind a load balancer names the same issuer.
    /// </value>
    public string? Issuer { get; set; }

    /// <value>How long an access token is valid. Default 5 minutes; from 1 second to 10 minutes.</value>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <value>
    /// How long a pushed authorization request's <c>request_uri</c> may be used (RFC 9126 §2.2 <c>expires_in</c>): the
    /// time a citizen has from the council's push to pressing Allow or Deny. Default 90 seconds; from 1 to 600 seconds.
    /// </value>
    public TimeSpan PushedRequestLifetime { get; set; } = TimeSpan.FromSeconds(90);
}

/// <summary>Cross-field and format rules that a data annotation cannot state.</summary>
internal sealed class AuthorizationServerOptionsValidator : IValidateOptions<AuthorizationServerOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthorizationServerOptions options)
    {
        var failures = new List<string>();
        if (options.Issuer is { } issuer && !TryNormaliseIssuer(issuer, out _))
        {
            failures.Add("Authorization:Issuer must be an absolute http or https URL without query or fragment.");
        }

        if (options.AccessTokenLifetime < TimeSpan.FromSeconds(1) || options.AccessTokenLifetime > AuthorizationServerOptions.MaximumAccessTokenLifetime)
        {
            failures.Add("Authorization:AccessTokenLifetime must be from 00:00:01 to 00:10:00.");
        }

        if (options.PushedRequestLifetime < TimeSpan.FromSeconds(1) || options.PushedRequestLifetime > AuthorizationServerOptions.MaximumPushedRequestLifetime)
        {
            failures.Add("Authorization:PushedRequestLifetime must be from 00:00:01 to 00:10:00.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>The issuer as published: the configured URL without a trailing slash.</summary>
    public static bool TryNormaliseIssuer(string value, out string normalised)
    {
        normalised = value.TrimEnd('/');
        // RFC 8414 §2: "a URL that uses the https scheme and has no query or fragment components"; http is
        // tolerated for loopback sandboxes and tests.
        return Uri.TryCreate(normalised, UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            && string.IsNullOrEmpty(uri.Query)
            && string.IsNullOrEmpty(uri.Fragment)
            && string.IsNullOrEmpty(uri.UserInfo)
            && !normalised.Contains('#', StringComparison.Ordinal)
            && !normalised.Contains('?', StringComparison.Ordinal);
    }
}
