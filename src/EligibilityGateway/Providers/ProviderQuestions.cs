using System.Collections.Frozen;
using EligibilityGateway.Checks;
using EligibilityGateway.ProviderContracts;

namespace EligibilityGateway.Providers;

/// <summary>What one provider said to one question, before latency is attached.</summary>
internal readonly record struct ProviderAnswer(ProviderCallStatus Status, string? Reason)
{
    /// <summary>Found → the rule decides eligible or not; not found and failed pass through. Never failed → "no".</summary>
    public static ProviderAnswer From<T>(ProviderResult<T> result, Func<T, bool> rule)
        where T : class => result.Kind switch
        {
            ProviderResultKind.Found => new(rule(result.Value!) ? ProviderCallStatus.Eligible : ProviderCallStatus.NotEligible, null),
            ProviderResultKind.NotFound => new(ProviderCallStatus.NotFound, null),
            _ => new(ProviderCallStatus.Failed, result.FailureReason ?? ProviderFailureReasons.Unexpected),
        };
}

/// <summary>
/// A question a trust framework may put to a provider: which API answers it, which identifier it needs and which
/// rule of <see cref="EligibilityRules"/> turns the answer into eligible or not.
/// </summary>
internal abstract class ProviderQuestionDefinition(string id, IdentifierKind requiredIdentifier)
{
    public string Id { get; } = id;

    /// <summary>A subject known by another identifier is not asked (counted as not found, no HTTP call).</summary>
    public IdentifierKind RequiredIdentifier { get; } = requiredIdentifier;

    public abstract Task<ProviderAnswer> AskAsync(ProviderClientSet clients, ProviderEndpoint endpoint, ProviderCaller caller, Subject subject, CancellationToken cancellationToken);
}

/// <summary>
/// Asked of DWP's claims (contracts/providers/dwp.openapi.json): match on NI number, surname and date of birth, then
/// read the claims of the citizen id DWP gave back. The identifiers travel only in the match body; the claims URL
/// carries DWP's opaque citizen id, which is why no provider URL is logged.
/// </summary>
internal sealed class DwpClaimsQuestion(string id, Func<ClaimsResponse, bool> rule)
    : ProviderQuestionDefinition(id, IdentifierKind.NationalInsuranceNumber)
{
    public override async Task<ProviderAnswer> AskAsync(ProviderClientSet clients, ProviderEndpoint endpoint, ProviderCaller caller, Subject subject, CancellationToken cancellationToken)
    {
        var person = NationalInsuranceLookupRequest.For(subject.Identifier, subject.LastName, subject.DateOfBirth);
        var match = await ProviderResponses.ReadAsync(
            clients.Dwp.MatchCitizenAsync(person, endpoint.Credential, caller.CorrelationId, caller.RequestingOrganisation, caller.Scheme, caller.Purpose, endpoint, cancellationToken),
            noMatchIsNotFound: true,
            cancellationToken).ConfigureAwait(false);
        if (match.Kind != ProviderResultKind.Found)
        {
            return ProviderAnswer.From(new ProviderResult<ClaimsResponse>(match.Kind, null, match.FailureReason), rule);
        }

        var citizenId = match.Value!.CitizenId;
        var claims = await ProviderResponses.ReadAsync(
            clients.Dwp.GetClaimsAsync(citizenId, endpoint.Credential, caller.CorrelationId, caller.RequestingOrganisation, caller.Scheme, caller.Purpose, endpoint, cancellationToken),
            // DWP has just matched this citizen: its 404 "unknown-citizen" now would be DWP contradicting itself,
            // so it is a failure (HTTP 404), not "not found".
            noMatchIsNotFound: false,
            cancellationToken).ConfigureAwait(false);
        return ProviderAnswer.From(
            claims.Kind == ProviderResultKind.Found && claims.Value!.CitizenId != citizenId
                ? ProviderResult<ClaimsResponse>.Failed(ProviderFailureReasons.MalformedResponse)
                : claims,
            rule);
    }
}

/// <summary>Asked of HMRC's tax-credit awards (contracts/providers/hmrc.openapi.json).</summary>
internal sealed class HmrcTaxCreditsQuestion(string id, Func<TaxCreditsResponse, bool> rule)
    : ProviderQuestionDefinition(id, IdentifierKind.NationalInsuranceNumber)
{
    public override async Task<ProviderAnswer> AskAsync(ProviderClientSet clients, ProviderEndpoint endpoint, ProviderCaller caller, Subject subject, CancellationToken cancellationToken) =>
        ProviderAnswer.From(
            await ProviderResponses.ReadAsync(
                clients.Hmrc.LookupTaxCreditsAsync(
                    NationalInsuranceLookupRequest.For(subject.Identifier, subject.LastName, subject.DateOfBirth),
                    endpoint.Credential, caller.CorrelationId, caller.RequestingOrganisation, caller.Scheme, caller.Purpose, endpoint, cancellationToken),
                noMatchIsNotFound: true,
                cancellationToken).ConfigureAwait(false),
            rule);
}

/// <summary>Asked of the Home Office's asylum-support records, by NASS number (contracts/providers/home-office.openapi.json).</summary>
internal sealed class HomeOfficeAsylumSupportQuestion(string id, Func<AsylumSupportResponse, bool> rule)
    : ProviderQuestionDefinition(id, IdentifierKind.NationalAsylumSeekerServiceNumber)
{
    public override async Task<ProviderAnswer> AskAsync(ProviderClientSet clients, ProviderEndpoint endpoint, ProviderCaller caller, Subject subject, CancellationToken cancellationToken) =>
        ProviderAnswer.From(
            await ProviderResponses.ReadAsync(
                clients.HomeOffice.LookupAsylumSupportAsync(
                    AsylumSupportLookupRequest.For(subject.Identifier, subject.LastName, subject.DateOfBirth),
                    endpoint.Credential, caller.CorrelationId, caller.RequestingOrganisation, caller.Scheme, caller.Purpose, endpoint, cancellationToken),
                noMatchIsNotFound: true,
                cancellationToken).ConfigureAwait(false),
            rule);
}

/// <summary>
/// Every question id a trust framework may use (<c>schemes[].questions[].question</c>). Which provider answers
/// is the framework's choice; the question fixes which API is called, so the framework must put it to a
/// provider that serves that API. A framework naming any other id is refused at start-up and logged on reload.
/// </summary>
internal static class ProviderQuestionCatalogue
{
    public const string FreeSchoolMealsBenefits = "free-school-meals-benefits";
    public const string FreeSchoolMealsTaxCredits = "free-school-meals-tax-credits";
    public const string AsylumSupport = "asylum-support";
    public const string CouncilTaxSupportBenefits = "council-tax-support-benefits";
    public const string CouncilTaxSupportIncome = "council-tax-support-income";

    private static readonly FrozenDictionary<string, ProviderQuestionDefinition> Questions = new ProviderQuestionDefinition[]
    {
        new DwpClaimsQuestion(FreeSchoolMealsBenefits, EligibilityRules.FreeSchoolMealsBenefits),
        new HmrcTaxCreditsQuestion(FreeSchoolMealsTaxCredits, EligibilityRules.FreeSchoolMealsTaxCredits),
        new HomeOfficeAsylumSupportQuestion(AsylumSupport, EligibilityRules.AsylumSupportUnderPartSix),
        new DwpClaimsQuestion(CouncilTaxSupportBenefits, EligibilityRules.CouncilTaxSupportBenefits),
        new HmrcTaxCreditsQuestion(CouncilTaxSupportIncome, EligibilityRules.CouncilTaxSupportIncome),
    }.ToFrozenDictionary(q => q.Id, StringComparer.Ordinal);

    public static IEnumerable<string> KnownIds => Questions.Keys.Order(StringComparer.Ordinal);

    public static bool TryGet(string questionId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ProviderQuestionDefinition? question) =>
        Questions.TryGetValue(questionId, out question);
}
