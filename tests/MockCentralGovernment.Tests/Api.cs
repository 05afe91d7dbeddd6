using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace MockCentralGovernment.Tests;

/// <summary>The calls the tests make, named as the provider operations they are.</summary>
internal static class Api
{
    public const string DwpMatch = "/dwp/v1/citizens/match";
    public const string HmrcLookup = "/hmrc/v1/tax-credits/lookup";
    public const string HomeOfficeLookup = "/home-office/v1/asylum-support/lookup";

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
