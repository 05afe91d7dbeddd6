using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace EligibilityGateway.Tests.Infrastructure;

/// <summary>The sandbox trust framework's clients (secret <c>&lt;client&gt;-sandbox-secret</c>) at a gateway's token endpoint.</summary>
internal static class SandboxClients
{
    /// <summary>A client-credentials access token (RFC 6749 §4.4), the client authenticated with HTTP Basic; fails the test if refused.</summary>
    public static async Task<string> TokenAsync(HttpClient http, Uri gateway, string client = "leeds", string scope = "eligibility.check")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway, "/connect/token"))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = scope }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{client}:{client}-sandbox-secret")));
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        response.IsSuccessStatusCode.Should().BeTrue($"{client} asked for a token with scope {scope}: {(int)response.StatusCode} {body}");
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("access_token").GetString()!;
    }
}
