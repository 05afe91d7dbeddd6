using System.Net;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Authorization;

/// <summary>
/// The gateway's public origin is its issuer (<see cref="GatewayIssuer"/>), configured or derived from the bound
/// address, never the request's <c>Host</c>. This wires the three things that follow from that:
/// <list type="bullet">
/// <item><b>Host filtering</b>: <c>AllowedHosts</c> (semicolon-separated, ASP.NET Core's own setting) when it is
/// configured; otherwise the issuer's host plus the loopback names (<c>localhost</c>, <c>127.0.0.1</c>, <c>[::1]</c>)
/// that probes and an operator on the machine use. Any other <c>Host</c> gets 400 before any endpoint runs.</item>
/// <item><b>Forwarded headers</b> (<c>X-Forwarded-For</c>, <c>X-Forwarded-Proto</c>) are honoured only from the
/// proxies and networks listed in <c>ForwardedHeaders:KnownProxies</c> / <c>ForwardedHeaders:KnownNetworks</c>; with
/// neither set they are ignored. <c>X-Forwarded-Host</c> is never honoured.</item>
/// <item>Absolute URLs the pages build (the sign-in challenge) are made from the issuer (<see cref="Absolute"/>).</item>
/// </list>
/// </summary>
internal static class PublicOrigin
{
    public const string ForwardedHeadersSection = "ForwardedHeaders";

    private static readonly string[] LoopbackHosts = ["localhost", "127.0.0.1", "[::1]"];

    /// <summary>Registers host filtering and forwarded-headers trust; both read configuration when first used.</summary>
    public static IServiceCollection AddPublicOrigin(this IServiceCollection services)
    {
        services.AddSingleton<IPostConfigureOptions<HostFilteringOptions>, IssuerHostFiltering>();
        services.AddOptions<ForwardedHeadersOptions>().Configure<IConfiguration>((options, configuration) =>
        {
            var section = configuration.GetSection(ForwardedHeadersSection);
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            foreach (var proxy in section.GetSection("KnownProxies").Get<string[]>() ?? [])
            {
                options.KnownProxies.Add(IPAddress.TryParse(proxy, out var address)
                    ? address
                    : throw new OptionsValidationException(ForwardedHeadersSection, typeof(ForwardedHeadersOptions), [$"ForwardedHeaders:KnownProxies: '{proxy}' is not an IP address."]));
            }

            foreach (var network in section.GetSection("KnownNetworks").Get<string[]>() ?? [])
            {
                options.KnownIPNetworks.Add(System.Net.IPNetwork.TryParse(network, out var parsed)
                    ? parsed
                    : throw new OptionsValidationException(ForwardedHeadersSection, typeof(ForwardedHeadersOptions), [$"ForwardedHeaders:KnownNetworks: '{network}' is not a CIDR network."]));
            }
        });
        return services;
    }

    /// <summary>Honours forwarded headers only from configured proxies; a no-op when none is configured.</summary>
    public static IApplicationBuilder UsePublicOrigin(this IApplicationBuilder app)
    {
        // Read now, so that a malformed proxy address stops start-up instead of failing the first request.
        var options = app.ApplicationServices.GetRequiredService<IOptions<ForwardedHeadersOptions>>().Value;
        if (options.KnownProxies.Count + options.KnownIPNetworks.Count > 0)
        {
            app.UseForwardedHeaders();
        }

        return app;
    }

    /// <summary>
    /// <paramref name="relativeOrAbsolute"/>'s path and query on the issuer's origin: the absolute form of a URL that a handler
    /// built from the request (which may carry any <c>Host</c>).
    /// </summary>
    public static string Absolute(GatewayIssuer issuer, string relativeOrAbsolute)
    {
        var pathAndQuery = Uri.TryCreate(relativeOrAbsolute, UriKind.Absolute, out var absolute) ? absolute.PathAndQuery : relativeOrAbsolute;
        return new Uri(issuer.Value).GetLeftPart(UriPartial.Authority) + pathAndQuery;
    }

    /// <summary>Runs when the options are first read, as the pipeline is built: only the issuer's host is read then.</summary>
    private sealed class IssuerHostFiltering(GatewayIssuer issuer, IConfiguration configuration) : IPostConfigureOptions<HostFilteringOptions>
    {
        public void PostConfigure(string? name, HostFilteringOptions options)
        {
            if (!string.IsNullOrWhiteSpace(configuration["AllowedHosts"]))
            {
                return; // the operator's list, which ASP.NET Core has already applied
            }

            var host = issuer.Host;
            options.AllowedHosts = [.. LoopbackHosts.Append(host.Contains(':', StringComparison.Ordinal) ? $"[{host.Trim('[', ']')}]" : host).Distinct(StringComparer.OrdinalIgnoreCase)];
        }
    }
}
