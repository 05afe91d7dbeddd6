namespace EligibilityGateway.ProviderContracts;

/// <summary>
/// The headers every call to a provider carries, saying who asks and why, as departmental APIs ask of their
/// callers (contracts/providers/README.md, "Caller headers"). None of them ever holds personal data.
/// </summary>
public static class ProviderCallerHeaders
{
    /// <summary>The W3C trace id (32 lower-case hex digits) of the check the call is made for.</summary>
    public const string CorrelationId = "X-Correlation-Id";

    /// <summary>The trust-framework id of the council that asks (e.g. <c>leeds</c>) — an organisation, never a person.</summary>
    public const string RequestingOrganisation = "X-Requesting-Organisation";

    /// <summary>The trust-framework id of the scheme the question is asked for (e.g. <c>free-school-meals</c>).</summary>
    public const string Scheme = "X-Scheme";

    /// <summary>The W3C Data Privacy Vocabulary purpose the council is permitted to ask under (e.g. <c>dpv:ServiceProvision</c>).</summary>
    public const string Purpose = "X-Purpose";

    /// <summary>Every caller header, in the order the contracts list them.</summary>
    public static IReadOnlyList<string> All { get; } = [CorrelationId, RequestingOrganisation, Scheme, Purpose];
}
