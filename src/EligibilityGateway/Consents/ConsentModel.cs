using System.Collections.Immutable;
using EligibilityGateway.Checks;

namespace EligibilityGateway.Consents;

/// <summary>Where a consent is in its life; the transitions are in <c>Consents/README.md</c>.</summary>
internal enum ConsentStatus
{
    /// <summary>Created by a council; the citizen has not answered yet.</summary>
    AwaitingAuthorisation,

    /// <summary>The citizen allowed it: checks may run under it until it expires or is revoked.</summary>
    Authorised,

    /// <summary>The citizen denied it. Final.</summary>
    Rejected,

    /// <summary>The citizen or the council withdrew it. Final.</summary>
    Revoked,

    /// <summary>Its expiry passed. Final.</summary>
    Expired,
}

/// <summary>API, store and audit spellings of <see cref="ConsentStatus"/>.</summary>
internal static class ConsentStatusNames
{
    public const string AwaitingAuthorisation = "awaiting-authorisation";
    public const string Authorised = "authorised";
    public const string Rejected = "rejected";
    public const string Revoked = "revoked";
    public const string Expired = "expired";

    public static string ToName(this ConsentStatus status) => status switch
    {
        ConsentStatus.AwaitingAuthorisation => AwaitingAuthorisation,
        ConsentStatus.Authorised => Authorised,
        ConsentStatus.Rejected => Rejected,
        ConsentStatus.Revoked => Revoked,
        ConsentStatus.Expired => Expired,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    public static bool TryParse(string? name, out ConsentStatus status)
    {
        status = name switch
        {
            AwaitingAuthorisation => ConsentStatus.AwaitingAuthorisation,
            Authorised => ConsentStatus.Authorised,
            Rejected => ConsentStatus.Rejected,
            Revoked => ConsentStatus.Revoked,
            Expired => ConsentStatus.Expired,
            _ => (ConsentStatus)(-1),
        };
        return Enum.IsDefined(status);
    }

    /// <summary>States no transition leaves.</summary>
    public static bool IsFinal(this ConsentStatus status) => status is ConsentStatus.Rejected or ConsentStatus.Revoked or ConsentStatus.Expired;
}

/// <summary>Who withdrew a consent: the citizen (from their account) or the council (<c>DELETE /v1/consents/{id}</c>).</summary>
/// <param name="ClientId">The council's OAuth client, when a council revoked.</param>
internal sealed record ConsentRevoker(ConsentActor Actor, string? ClientId)
{
    public static ConsentRevoker Citizen { get; } = new(ConsentActor.Citizen, null);

    public static ConsentRevoker Council(string clientId) => new(ConsentActor.Council, clientId);

    /// <summary>As stored and shown: <c>citizen</c> or <c>council</c>.</summary>
    public string Name => Actor == ConsentActor.Council ? "council" : "citizen";
}

/// <summary>The two parties that may withdraw a consent.</summary>
internal enum ConsentActor
{
    Citizen,
    Council,
}

/// <summary>
/// One consent resource as stored (README.md). It holds no personal data in clear: the citizen it is bound to is
/// known by <see cref="SubjectReference"/> (a keyed HMAC, as in the audit log) and by
/// <see cref="SealedSubject"/>, the identifiers a check needs, encrypted (<see cref="ConsentSubjectProtector"/>).
/// </summary>
internal sealed record Consent
{
    public required string ConsentId { get; init; }

    /// <summary>The council that created it; only that council may read, revoke or check under it.</summary>
    public required string CouncilId { get; init; }

    /// <summary>The council's OAuth client that created it.</summary>
    public required string ClientId { get; init; }

    public required string SchemeId { get; init; }

    /// <summary>The permission's purpose (a DPV term) when the consent was created.</summary>
    public required string Purpose { get; init; }

    /// <summary>Always <c>consent</c>; kept so that the record reads on its own.</summary>
    public string LawfulBasis => TrustFramework.LawfulBasisNames.Consent;

    /// <summary>The council's justification (same rules as a check's <c>caseReference</c>).</summary>
    public required string CaseReference { get; init; }

    /// <summary>Provider ids the scheme asks, as the citizen was told.</summary>
    public required ImmutableArray<string> Providers { get; init; }

    /// <summary>What the council gets back (<c>outcome</c>, <c>confirmed-by</c>), as the citizen was told.</summary>
    public required ImmutableArray<string> Released { get; init; }

    /// <summary>The trust framework in force when the consent was created.</summary>
    public required string FrameworkId { get; init; }

    public required string FrameworkVersion { get; init; }

    /// <summary>The state as stored. Read <see cref="StatusAt"/> to account for expiry.</summary>
    public required ConsentStatus Status { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Never later than creation plus the scheme's maximum consent duration.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    public DateTimeOffset? AuthorisedAt { get; init; }

    public DateTimeOffset? RejectedAt { get; init; }

    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary><see cref="ConsentRevoker.Name"/> of whoever revoked it.</summary>
    public string? RevokedBy { get; init; }

    /// <summary>The bound citizen's subject reference, once authorised.</summary>
    public string? SubjectReference { get; init; }

    /// <summary>The bound citizen's identifiers and account id, AES-GCM sealed; set once authorised.</summary>
    public byte[]? SealedSubject { get; init; }

    /// <summary>Checks made under the consent.</summary>
    public long UsageCount { get; init; }

    public DateTimeOffset? LastUsedAt { get; init; }

    /// <summary>The state at <paramref name="now"/>: a consent not yet final whose expiry has passed is expired.</summary>
    public ConsentStatus StatusAt(DateTimeOffset now) =>
        !Status.IsFinal() && now >= ExpiresAt ? ConsentStatus.Expired : Status;

    /// <summary>Names the consent and its state only; the sealed identifiers stay out of any text.</summary>
    public override string ToString() => $"Consent {{ {ConsentId}, {CouncilId}/{SchemeId}, {Status.ToName()} }}";
}

/// <summary>
/// The citizen bound to an authorised consent: the identifiers the providers are asked about, and the citizen's
/// account id at the sign-in provider. Personal data: exists only in memory, opened for the check that needs it.
/// </summary>
internal sealed record ConsentedSubject(Subject Subject, string CitizenId)
{
    public override string ToString() => "ConsentedSubject { redacted }";
}
