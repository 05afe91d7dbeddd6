using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;

namespace EligibilityGateway.TrustFramework;

/// <summary>
/// Names of the rules the policy engine decides by. The name goes into the audit record and the 403 problem
/// (README.md, "Policy engine"), so these strings are a contract: add new ones, never rename.
/// </summary>
internal static class PolicyRules
{
    /// <summary>No framework has been loaded (the gateway has not started).</summary>
    public const string NoFramework = "deny:no-framework";

    /// <summary>The current time is outside [effective_from, effective_until).</summary>
    public const string FrameworkNotEffective = "deny:framework-not-effective";

    /// <summary>No council with this id.</summary>
    public const string UnknownCouncil = "deny:unknown-council";

    /// <summary>No scheme with this id.</summary>
    public const string UnknownScheme = "deny:unknown-scheme";

    /// <summary>The lawful basis is neither <c>consent</c> nor <c>public-task</c>.</summary>
    public const string UnknownLawfulBasis = "deny:unknown-lawful-basis";

    /// <summary>The council has no permission for the scheme.</summary>
    public const string NoPermission = "deny:no-permission";

    /// <summary>The council has a permission for the scheme, but not under this lawful basis.</summary>
    public const string LawfulBasisNotPermitted = "deny:lawful-basis-not-permitted";

    /// <summary>The rule that allows: <c>permission:&lt;council&gt;/&lt;scheme&gt;/&lt;basis&gt;</c>.</summary>
    public static string Permission(string councilId, string schemeId, LawfulBasis basis) => $"permission:{councilId}/{schemeId}/{basis.ToName()}";
}

/// <summary>Everything the rest of a check needs once the framework has allowed it.</summary>
internal sealed record PolicyGrant(
    string FrameworkId,
    string FrameworkVersion,
    Council Council,
    Scheme Scheme,
    Permission Permission,
    LawfulBasisGrant LawfulBasis,
    ImmutableArray<DataProvider> Providers)
{
    /// <summary>The DPV purpose recorded with the check.</summary>
    public string Purpose => Permission.Purpose;

    public ImmutableArray<ProviderQuestion> Questions => Scheme.Questions;

    public ImmutableArray<ReleasedField> Release => Scheme.Release;

    /// <summary>For <c>public-task</c>, the DEA 2017 s.35 objective; null under consent.</summary>
    public string? LegalReference => LawfulBasis.LegalReference;

    /// <summary>The permission's rate limit, or the council's when the permission sets none.</summary>
    public RateLimit RateLimit => Permission.RateLimit ?? Council.RateLimit;
}

/// <summary>An allow or deny, always with the name of the rule that decided it. A value, never an exception.</summary>
internal sealed record PolicyDecision
{
    private PolicyDecision(string rule, PolicyGrant? grant)
    {
        Rule = rule;
        Grant = grant;
    }

    /// <summary>See <see cref="PolicyRules"/>.</summary>
    public string Rule { get; }

    /// <summary>Set exactly when the decision allows.</summary>
    public PolicyGrant? Grant { get; }

    [MemberNotNullWhen(true, nameof(Grant))]
    public bool IsAllowed => Grant is not null;

    public static PolicyDecision Allow(PolicyGrant grant) =>
        new(PolicyRules.Permission(grant.Council.Id, grant.Scheme.Id, grant.LawfulBasis.Basis), grant);

    public static PolicyDecision Deny(string rule) => new(rule, null);
}

/// <summary>
/// Decides whether a council may ask about a scheme under a lawful basis. Deny by default: only a permission
/// naming this council, this scheme and this basis, in a framework in force now, allows.
/// </summary>
internal sealed class PolicyEngine(TrustFrameworkMonitor monitor, TimeProvider timeProvider)
{
    /// <summary>Decides against the framework currently in force.</summary>
    public PolicyDecision Decide(string councilId, string schemeId, string lawfulBasis) =>
        monitor.TryGetCurrent(out var snapshot)
            ? Decide(snapshot, timeProvider.GetUtcNow(), councilId, schemeId, lawfulBasis)
            : PolicyDecision.Deny(PolicyRules.NoFramework);

    /// <summary>The council for an OAuth client id, in the framework currently in force.</summary>
    public bool TryFindCouncilByClientId(string clientId, [NotNullWhen(true)] out Council? council)
    {
        council = null;
        return monitor.TryGetCurrent(out var snapshot) && snapshot.TryGetCouncilByClientId(clientId, out council);
    }

    /// <summary>The decision procedure itself, pure so it can be tested branch by branch.</summary>
    public static PolicyDecision Decide(TrustFrameworkSnapshot snapshot, DateTimeOffset now, string councilId, string schemeId, string lawfulBasis)
    {
        if (!snapshot.Definition.IsEffectiveAt(now))
        {
            return PolicyDecision.Deny(PolicyRules.FrameworkNotEffective);
        }

        if (!snapshot.TryGetCouncil(councilId, out var council))
        {
            return PolicyDecision.Deny(PolicyRules.UnknownCouncil);
        }

        if (!snapshot.TryGetScheme(schemeId, out var scheme))
        {
            return PolicyDecision.Deny(PolicyRules.UnknownScheme);
        }

        if (!LawfulBasisNames.TryParse(lawfulBasis, out var basis))
        {
            return PolicyDecision.Deny(PolicyRules.UnknownLawfulBasis);
        }

        if (!snapshot.TryGetPermission(councilId, schemeId, out var permission))
        {
            return PolicyDecision.Deny(PolicyRules.NoPermission);
        }

        var grant = permission.LawfulBases.FirstOrDefault(g => g.Basis == basis);
        if (grant is null)
        {
            return PolicyDecision.Deny(PolicyRules.LawfulBasisNotPermitted);
        }

        // The loader has proved every question names a provider, so this lookup cannot miss.
        var providers = scheme.Questions
            .Select(q => q.ProviderId)
            .Distinct(StringComparer.Ordinal)
            .Select(id => snapshot.TryGetProvider(id, out var provider) ? provider : throw new InvalidOperationException($"Scheme '{scheme.Id}' names provider '{id}', which the loader should have refused."))
            .ToImmutableArray();

        return PolicyDecision.Allow(new PolicyGrant(snapshot.Definition.Id, snapshot.Definition.Version, council, scheme, permission, grant, providers));
    }
}
