using MockCentralGovernment.Faults;
using MockCentralGovernment.Population;
using EligibilityGateway.ProviderContracts;

namespace MockCentralGovernment.Providers;

/// <summary>
/// The three providers' HTTP APIs (contracts/providers/{dwp,hmrc,home-office}.openapi.json). Each request goes
/// call log → fault injection → credential → caller headers → body → validation → lookup → answer. Personal identifiers travel only in POST
/// bodies, never in URLs, so they cannot end up in access logs or proxies' caches.
/// </summary>
internal static class ProviderApis
{
    public static void MapProviderApis(this IEndpointRouteBuilder endpoints)
    {
        var dwp = ProviderGroup(endpoints, ProviderKind.Dwp);
        dwp.MapPost("/v1/citizens/match", MatchCitizenAsync);
        dwp.MapGet("/v1/citizens/{citizenId}/claims", GetClaims);

        var hmrc = ProviderGroup(endpoints, ProviderKind.Hmrc);
        hmrc.MapPost("/v1/tax-credits/lookup", LookUpTaxCreditsAsync);

        var homeOffice = ProviderGroup(endpoints, ProviderKind.HomeOffice);
        homeOffice.MapPost("/v1/asylum-support/lookup", LookUpAsylumSupportAsync);
    }

    // Every call is recorded as it arrives. Then faults: an outage or a slow network happens before the provider looks
    // at credentials; and the caller headers are checked only for a caller that proved who it is.
    private static RouteGroupBuilder ProviderGroup(IEndpointRouteBuilder endpoints, ProviderKind provider) =>
        endpoints.MapGroup("/" + provider.Slug())
            .WithCallLog(provider)
            .WithFaultInjection(provider)
            .RequireProviderCredential(provider)
            .RequireCallerHeaders(provider);

    private static async Task<IResult> MatchCitizenAsync(HttpContext context, PopulationStore population)
    {
        var body = await JsonBody.ReadAsync(context, ProviderRequests.NationalInsuranceLookup);
        if (body.Value is not { } request)
        {
            return body.Problem!;
        }

        if (!Identifiers.TryCreateQuery(IdentifierKind.NationalInsuranceNumber, request.NationalInsuranceNumber, request.LastName, request.DateOfBirth, out var query, out var errors))
        {
            return Problems.Validation(errors);
        }

        return population.TryMatchDwp(query.Identifier, query.LastName, query.DateOfBirth, out var citizen)
            ? TypedResults.Json(new CitizenMatchResponse(citizen.CitizenId), ProviderJsonContext.Default.CitizenMatchResponse)
            : Problems.NoMatch();
    }

    private static IResult GetClaims(string citizenId, PopulationStore population) =>
        // Ids are opaque: anything that is not one of ours, well-formed or not, is simply unknown.
        Guid.TryParseExact(citizenId, "D", out var id) && population.TryFindCitizen(id, out var citizen)
            ? TypedResults.Json(new ClaimsResponse(citizen.CitizenId, citizen.Claims), ProviderJsonContext.Default.ClaimsResponse)
            : Problems.UnknownCitizen();

    private static async Task<IResult> LookUpTaxCreditsAsync(HttpContext context, PopulationStore population)
    {
        var body = await JsonBody.ReadAsync(context, ProviderRequests.NationalInsuranceLookup);
        if (body.Value is not { } request)
        {
            return body.Problem!;
        }

        if (!Identifiers.TryCreateQuery(IdentifierKind.NationalInsuranceNumber, request.NationalInsuranceNumber, request.LastName, request.DateOfBirth, out var query, out var errors))
        {
            return Problems.Validation(errors);
        }

        return population.TryMatchHmrc(query.Identifier, query.LastName, query.DateOfBirth, out var record)
            ? TypedResults.Json(new TaxCreditsResponse(record.TaxYear, record.AnnualHouseholdIncome, record.Awards), ProviderJsonContext.Default.TaxCreditsResponse)
            : Problems.NoMatch();
    }

    private static async Task<IResult> LookUpAsylumSupportAsync(HttpContext context, PopulationStore population)
    {
        var body = await JsonBody.ReadAsync(context, ProviderRequests.AsylumSupportLookup);
        if (body.Value is not { } request)
        {
            return body.Problem!;
        }

        if (!Identifiers.TryCreateQuery(IdentifierKind.NationalAsylumSeekerServiceNumber, request.NationalAsylumSeekerServiceNumber, request.LastName, request.DateOfBirth, out var query, out var errors))
        {
            return Problems.Validation(errors);
        }

        return population.TryMatchHomeOffice(query.Identifier, query.LastName, query.DateOfBirth, out var record)
            ? TypedResults.Json(new AsylumSupportResponse(record.Support), ProviderJsonContext.Default.AsylumSupportResponse)
            : Problems.NoMatch();
    }
}
