using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EligibilityGateway.ProviderContracts;

namespace MockCentralGovernment.Tests;

/// <summary>The calls the tests make, named as the provider operations they are.</summary>
internal static class Api
{
    public const string DwpMatch = "/dwp/v1/citizens/match";
    public const string HmrcLookup = "/hmrc/v1/tax-credits/lookup";
    public const string HomeOfficeLookup = "/home-office/v1/asylum-support/lookup";

    /// <summary>The caller headers of a well-behaved caller: Leeds asking for free school meals.</summary>
    public static readonly IReadOnlyDictionary<string, string> CallerHeaders = new Dictionary<string, string>
    {
        [ProviderCallerHeaders.CorrelationId] = "4bf92f3577b34da6a3ce929d0e0e4736",
        [ProviderCallerHeaders.RequestingOrganisation] = "leeds",
        [ProviderCallerHeaders.Scheme] = "free-school-meals",
        [ProviderCallerHeaders.Purpose] = "dpv:ServiceProvision",
    };

    public static void AddCallerHeaders(HttpRequestHeaders headers)
    {
        foreach (var (name, value) in CallerHeaders)
        {
            headers.Add(name, value);
        }
    }

    public static Task<HttpResponseMessage> MatchCitizenAsync(this HttpClient client, string ni, string lastName, string dateOfBirth) =>
        client.PostAsJsonAsync(DwpMatch, new { nationalInsuranceNumber = ni, lastName, dateOfBirth });

    public static Task<HttpResponseMessage> ClaimsAsync(this HttpClient client, string citizenId) =>
        client.GetAsync($"/dwp/v1/citizens/{citizenId}/claims");

    public static Task<HttpResponseMessage> TaxCreditsAsync(this HttpClient client, string ni, string lastName, string dateOfBirth) =>
        client.PostAsJsonAsync(HmrcLookup, new { nationalInsuranceNumber = ni, lastName, dateOfBirth });

    public static Task<HttpResponseMessage> AsylumSupportAsync(this HttpClient client, string nass, string lastName, string dateOfBirth) =>
        client.PostAsJsonAsync(HomeOfficeLookup, new { nationalAsylumSeekerServiceNumber = nass, lastName, dateOfBirth });

    public static Task<HttpResponseMessage> PostRawAsync(this HttpClient client, string path, string body, string mediaType = "application/json") =>
        client.PostAsync(path, new StringContent(body, Encoding.UTF8, mediaType));

    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    /// <summary>The citizen id DWP gives for a match that must succeed.</summary>
    public static async Task<string> MatchedCitizenIdAsync(this HttpClient client, string ni, string lastName, string dateOfBirth)
    {
        using var response = await client.MatchCitizenAsync(ni, lastName, dateOfBirth);
        response.StatusCode.Should().Be(System.Net.HttpStatusCode.OK);
        return (await response.JsonAsync()).GetProperty("citizenId").GetString()!;
    }
}
