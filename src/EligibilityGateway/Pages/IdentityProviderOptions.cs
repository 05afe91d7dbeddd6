using System.Net;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Pages;

/// <summary>
/// The external OpenID Connect provider citizens sign in with in production (configuration section
/// <c>IdentityProvider</c>; Pages/README.md, <i>Federated sign-in</i>). Federated sign-in is on when
/// <see cref="Authority"/> is set.
/// </summary>
internal sealed class IdentityProviderOptions
{
    public const string SectionName = "IdentityProvider";

    /// <summary>
    /// The provider's issuer identifier, exactly as its discovery document states it (OpenID Connect Discovery §4.3),
    /// e.g. <c>https://oidc.account.gov.uk/</c>. Discovery is read from <c>{Authority}/.well-known/openid-configuration</c>.
    /// </summary>
    public string? Authority { get; set; }

    /// <summary>The gateway's client id at the provider.</summary>
    public string? ClientId { get; set; }

    /// <summary><c>client_secret_basic</c>: the client secret. Exactly one of this and <see cref="ClientKeyPath"/>.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>
    /// <c>private_key_jwt</c>: a PEM file with the gateway's private key (EC P-256, signed ES256; or RSA, signed RS256),
    /// whose public half the provider holds.
    /// </summary>
    public string? ClientKeyPath { get; set; }

    /// <summary>The <c>kid</c> of the client key at the provider, when it publishes several.</summary>
    public string? ClientKeyId { get; set; }

    /// <summary>Scopes asked for besides <c>openid</c>, space-separated (e.g. <c>profile</c> or the provider's identity scope).</summary>
    /// <value>Empty.</value>
    public string Scope { get; set; } = "";

    /// <summary>The provider's name on the sign-in page: "Continue to {DisplayName}".</summary>
    /// <value><c>your identity provider</c>.</value>
    public string DisplayName { get; set; } = "your identity provider";

    /// <summary>Which ID token claims carry the verified identity a consent is bound to.</summary>
    public IdentityClaimNames Claims { get; set; } = new();

    /// <summary>Whether federated sign-in is configured at all.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Authority);

    /// <summary>The address of the discovery document.</summary>
    public Uri DiscoveryAddress => new(Authority!.TrimEnd('/') + "/.well-known/openid-configuration");

    /// <summary>
    /// Whether <paramref name="address"/> may be used to talk to the provider: https, or http to a loopback host only
    /// (a provider on the same machine, as in tests and local trials). Nothing else goes over plain HTTP.
    /// </summary>
    public static bool IsAcceptableEndpoint(Uri? address) =>
        address is { IsAbsoluteUri: true }
        && string.IsNullOrEmpty(address.Fragment)
        && (address.Scheme == Uri.UriSchemeHttps || (address.Scheme == Uri.UriSchemeHttp && IsLoopback(address)));

    private static bool IsLoopback(Uri address) =>
        address.IsLoopback || (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}

/// <summary>
/// ID token claim names of the identity: the identifier (an NI number, or for people seeking asylum a NASS number),
/// the surname and the date of birth — what the providers match on. Values are strings; the date is
/// <c>yyyy-MM-dd</c> as OpenID Connect's <c>birthdate</c>.
/// </summary>
internal sealed class IdentityClaimNames
{
    /// <value><c>national_insurance_number</c>.</value>
    public string NationalInsuranceNumber { get; set; } = "national_insurance_number";

    /// <value><c>nass_number</c>.</value>
    public string NationalAsylumSeekerServiceNumber { get; set; } = "nass_number";

    /// <value><c>family_name</c> (OpenID Connect Core §5.1).</value>
    public string LastName { get; set; } = "family_name";

    /// <value><c>birthdate</c> (OpenID Connect Core §5.1).</value>
    public string DateOfBirth { get; set; } = "birthdate";
}

/// <summary>Start-up checks of <see cref="IdentityProviderOptions"/>; nothing is checked when federation is off.</summary>
internal sealed class IdentityProviderOptionsValidator : IValidateOptions<IdentityProviderOptions>
{
    public ValidateOptionsResult Validate(string? name, IdentityProviderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        var failures = new List<string>();
        var section = IdentityProviderOptions.SectionName;
        if (!Uri.TryCreate(options.Authority, UriKind.Absolute, out var authority) || !IdentityProviderOptions.IsAcceptableEndpoint(authority) || !string.IsNullOrEmpty(authority.Query))
        {
            failures.Add($"{section}:Authority must be an absolute https URL without query or fragment (http only for a loopback host).");
        }

        if (string.IsNullOrWhiteSpace(options.ClientId))
        {
            failures.Add($"{section}:ClientId is required.");
        }

        var hasSecret = !string.IsNullOrEmpty(options.ClientSecret);
        var hasKey = !string.IsNullOrWhiteSpace(options.ClientKeyPath);
        if (hasSecret == hasKey)
        {
            failures.Add($"{section}: set exactly one of ClientSecret (client_secret_basic) and ClientKeyPath (private_key_jwt).");
        }
        else if (hasKey && !File.Exists(options.ClientKeyPath))
        {
            failures.Add($"{section}:ClientKeyPath '{options.ClientKeyPath}' does not exist.");
        }

        if (options.Scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Any(s => s.Any(c => c is < '!' or > '~' or '"' or '\\')))
        {
            failures.Add($"{section}:Scope must be scope tokens separated by spaces (RFC 6749 §3.3).");
        }

        var claims = options.Claims;
        foreach (var (key, value) in new[]
        {
            (nameof(claims.NationalInsuranceNumber), claims.NationalInsuranceNumber),
            (nameof(claims.NationalAsylumSeekerServiceNumber), claims.NationalAsylumSeekerServiceNumber),
            (nameof(claims.LastName), claims.LastName),
            (nameof(claims.DateOfBirth), claims.DateOfBirth),
        })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                failures.Add($"{section}:Claims:{key} must name a claim.");
            }
        }

        if (string.IsNullOrWhiteSpace(options.DisplayName))
        {
            failures.Add($"{section}:DisplayName must not be empty.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
