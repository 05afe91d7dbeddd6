using System.Collections.Immutable;

namespace EligibilityGateway.Checks;

// The values a check passes between its steps (endpoint → policy → cache / providers → audit → response).
// None of them is ever logged, traced or cached as is: personal data leaves this process only to the provider
// that is asked, and is otherwise represented by its keyed subject reference.

/// <summary>The answer to "is this person eligible for this scheme?" (README.md, "Answer").</summary>
internal enum Outcome
{
    Eligible,
    NotEligible,
    NotFound,
    Undetermined,
}

/// <summary>API and audit spellings of <see cref="Outcome"/>.</summary>
internal static class OutcomeNames
{
    public static string ToName(this Outcome outcome) => outcome switch
    {
        Outcome.Eligible => "eligible",
        Outcome.NotEligible => "not-eligible",
        Outcome.NotFound => "not-found",
        Outcome.Undetermined => "undetermined",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, null),
    };
}

/// <summary>The kind of identifier a subject is known by; exactly one per subject (README.md, "Validation").</summary>
internal enum IdentifierKind
{
    /// <summary>National Insurance number, normalised to e.g. <c>AB123456C</c>.</summary>
    NationalInsuranceNumber,

    /// <summary>National Asylum Support Service number, digits only.</summary>
    NationalAsylumSeekerServiceNumber,
}

/// <summary>
/// A person the council asks about, already validated and normalised (identifier upper-cased without spaces,
/// surname trimmed). Personal data: its <see cref="ToString"/> is redacted so that it cannot reach a log by accident.
/// </summary>
internal sealed record Subject(IdentifierKind IdentifierKind, string Identifier, string LastName, DateOnly DateOfBirth)
{
    public override string ToString() => $"Subject {{ {IdentifierKind}, redacted }}";
}

/// <summary>How one provider call went, for the audit record's <c>provider_calls</c> (Audit/README.md).</summary>
internal sealed record ProviderCall(string ProviderId, ProviderCallStatus Status, TimeSpan Latency, string? FailureReason);

/// <summary>What a provider said, or why it could not.</summary>
internal enum ProviderCallStatus
{
    /// <summary>The provider found the person and something it holds qualifies them.</summary>
    Eligible,

    /// <summary>The provider found the person and nothing it holds qualifies them.</summary>
    NotEligible,

    /// <summary>The provider does not know the person.</summary>
    NotFound,

    /// <summary>Timeout, error, refusal or open circuit: never read as a "no" (Providers/README.md).</summary>
    Failed,
}

/// <summary>The combined answer of every provider a scheme asks.</summary>
internal sealed record SchemeAnswer(Outcome Outcome, ImmutableArray<ProviderCall> Calls)
{
    /// <summary>Providers that said eligible, released only where the scheme releases <c>confirmed-by</c>.</summary>
    public ImmutableArray<string> ConfirmedBy =>
        Calls.Where(c => c.Status == ProviderCallStatus.Eligible).Select(c => c.ProviderId).ToImmutableArray();

    /// <summary>Why the outcome is undetermined, from the failed calls; null otherwise.</summary>
    public string? UndeterminedReason => Outcome == Outcome.Undetermined
        ? string.Join("; ", Calls.Where(c => c.Status == ProviderCallStatus.Failed).Select(c => $"{c.ProviderId}: {c.FailureReason}"))
        : null;
}
