using System.Collections.Immutable;

namespace EligibilityGateway.TrustFramework;

// The trust framework as loaded: sealed immutable records built only by TrustFrameworkLoader after every
// rule in README.md has passed, so code holding one never re-checks references, bounds or secrets.

/// <summary>One version of a trust framework file (README.md, "Format in brief").</summary>
internal sealed record TrustFrameworkDefinition(
    string Id,
    string Version,
    DateTimeOffset EffectiveFrom,
    DateTimeOffset? EffectiveUntil,
    bool Sandbox,
    ImmutableArray<Council> Councils,
    ImmutableArray<Auditor> Auditors,
    ImmutableArray<DataProvider> Providers,
    ImmutableArray<Scheme> Schemes,
    ImmutableArray<Permission> Permissions,
    ImmutableArray<SandboxUser> SandboxUsers)
{
    /// <summary>True when <paramref name="instant"/> falls in [effective_from, effective_until).</summary>
    public bool IsEffectiveAt(DateTimeOffset instant) =>
        instant >= EffectiveFrom && (EffectiveUntil is not { } until || instant < until);
}

/// <summary>A fixed number of requests per window.</summary>
internal sealed record RateLimit(int Limit, TimeSpan Window);

/// <summary>A council: an OAuth client that asks eligibility questions.</summary>
internal sealed record Council(string Id, string Name, string ClientId, ClientAuthentication Authentication, RateLimit RateLimit, ImmutableArray<Uri> RedirectUris);

/// <summary>An auditor: an OAuth client with <c>audit.read</c> over one council or all of them.</summary>
internal sealed record Auditor(string Id, string Name, string ClientId, ClientAuthentication Authentication, AuditScope Scope);

/// <summary>What an auditor (client or sandbox user) may see: one council, or every council when <see cref="CouncilId"/> is null.</summary>
internal sealed record AuditScope(string? CouncilId)
{
    /// <summary>The YAML value that means every council; no council may take this id.</summary>
    public const string AllCouncils = "all";

    public static AuditScope All { get; } = new((string?)null);

    public bool IsAllCouncils => CouncilId is null;

    public bool Covers(string councilId) => CouncilId is null || string.Equals(CouncilId, councilId, StringComparison.Ordinal);
}

/// <summary>How a client proves who it is at the token endpoint (Authorization/README.md).</summary>
internal abstract record ClientAuthentication
{
    public const string PrivateKeyJwtMethod = "private_key_jwt";
    public const string ClientSecretBasicMethod = "client_secret_basic";

    public abstract string Method { get; }
}

/// <summary>RFC 7523 client assertion signed with one of these public keys.</summary>
internal sealed record PrivateKeyJwtAuthentication(ImmutableArray<PublicJsonWebKey> Keys) : ClientAuthentication
{
    public override string Method => PrivateKeyJwtMethod;
}

/// <summary>HTTP Basic with a shared secret, of which only the hash is kept; sandbox frameworks only.</summary>
internal sealed record ClientSecretBasicAuthentication(SecretHash SecretHash) : ClientAuthentication
{
    public override string Method => ClientSecretBasicMethod;
}

/// <summary>A public signing key (RFC 7517): EC P-256 (<c>X</c>, <c>Y</c>) or RSA of at least 2048 bits (<c>N</c>, <c>E</c>); base64url members as written.</summary>
internal sealed record PublicJsonWebKey(string Kid, string Kty, string? Alg, string? Crv, string? X, string? Y, string? N, string? E);

/// <summary>A central-government data holder the gateway asks (DWP, HMRC, Home Office).</summary>
internal sealed record DataProvider(string Id, string Name, Uri BaseUrl, TimeSpan AttemptTimeout, TimeSpan TotalTimeout, int MaxConcurrency, RateLimit RateLimit);

/// <summary>One question a scheme asks of one provider.</summary>
internal sealed record ProviderQuestion(string ProviderId, string QuestionId);

/// <summary>How a scheme turns provider answers into one outcome (Providers/README.md, "Combining").</summary>
internal enum CombiningRule
{
    /// <summary><c>any-eligible</c>: eligible if any provider says so; a provider failure is never not-eligible.</summary>
    AnyEligible,
}

/// <summary>A field of the check response the scheme lets the council see (data minimisation).</summary>
internal enum ReleasedField
{
    /// <summary><c>outcome</c>: eligible, not-eligible, not-found or undetermined. Always released.</summary>
    Outcome,

    /// <summary><c>confirmed-by</c>: which provider said eligible.</summary>
    ConfirmedBy,
}

/// <summary>A service a council checks eligibility for.</summary>
internal sealed record Scheme(
    string Id,
    string Name,
    string Legislation,
    ImmutableArray<ProviderQuestion> Questions,
    CombiningRule Combine,
    ImmutableArray<ReleasedField> Release,
    TimeSpan CacheTtl,
    TimeSpan MaxConsentDuration,
    TimeSpan AuditRetention);

/// <summary>UK GDPR Art. 6 bases a permission may allow.</summary>
internal enum LawfulBasis
{
    /// <summary><c>consent</c>: Art. 6(1)(a), bound to a citizen's consent resource (Consents/README.md).</summary>
    Consent,

    /// <summary><c>public-task</c>: Art. 6(1)(e), under a Digital Economy Act 2017 s.35 objective and an information-sharing agreement.</summary>
    PublicTask,
}

/// <summary>The YAML and API spellings of <see cref="LawfulBasis"/>.</summary>
internal static class LawfulBasisNames
{
    public const string Consent = "consent";
    public const string PublicTask = "public-task";

    public static string ToName(this LawfulBasis basis) => basis switch
    {
        LawfulBasis.Consent => Consent,
        LawfulBasis.PublicTask => PublicTask,
        _ => throw new ArgumentOutOfRangeException(nameof(basis), basis, null),
    };

    public static bool TryParse(string? name, out LawfulBasis basis)
    {
        switch (name)
        {
            case Consent:
                basis = LawfulBasis.Consent;
                return true;
            case PublicTask:
                basis = LawfulBasis.PublicTask;
                return true;
            default:
                basis = default;
                return false;
        }
    }
}

/// <summary>
/// One lawful basis a permission allows. For <see cref="LawfulBasis.PublicTask"/>, <see cref="LegalReference"/>
/// (the DEA 2017 s.35 objective) and <see cref="IsaReference"/> (the information-sharing agreement) are set.
/// </summary>
internal sealed record LawfulBasisGrant(LawfulBasis Basis, string? LegalReference, string? IsaReference);

/// <summary>What one council may ask about one scheme, under which bases and for which purpose.</summary>
internal sealed record Permission(string CouncilId, string SchemeId, ImmutableArray<LawfulBasisGrant> LawfulBases, string Purpose, RateLimit? RateLimit);

/// <summary>
/// A local account of a sandbox gateway's pages (Pages/README.md): an auditor with a <see cref="Scope"/>, or a test
/// citizen with the verified <see cref="Identity"/> a consent binds to. Only a <c>sandbox: true</c> framework may
/// declare any; a production gateway signs people in through a federated identity provider instead.
/// </summary>
internal sealed record SandboxUser(string Username, SecretHash PasswordHash, string Role, AuditScope? Scope, Checks.Subject? Identity)
{
    public const string AuditorRole = "auditor";
    public const string CitizenRole = "citizen";

    /// <summary>Redacted: a citizen's identity is personal data and must not reach a log by accident.</summary>
    public override string ToString() => $"SandboxUser {{ {Username}, {Role} }}";
}
