namespace EligibilityGateway.ProviderContracts;

/// <summary>The RFC 9457 problem <c>type</c>s of contracts/providers/README.md that both sides rely on.</summary>
public static class ProviderProblemTypes
{
    /// <summary>Every provider problem type starts with this URN prefix; the URNs are identifiers, not links.</summary>
    public const string Prefix = "urn:mock-central-government:problem:";

    /// <summary>404: nobody matches identifier, surname and date of birth. The only answer a caller may read as "not found".</summary>
    public const string NoMatch = Prefix + "no-match";

    /// <summary>400: one or more caller headers (<see cref="ProviderCallerHeaders"/>) missing or malformed.</summary>
    public const string CallerHeaders = Prefix + "caller-headers";
}

/// <summary>The members of an RFC 9457 problem document a provider answers with; every member is optional (RFC 9457 §3.1).</summary>
public sealed record ProviderProblem(string? Type = null, string? Title = null, int? Status = null, string? Detail = null);
