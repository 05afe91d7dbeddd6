using System.Net;
using System.Net.Http.Headers;
using EligibilityGateway.Testing;
using Microsoft.Extensions.Options;

namespace MockCentralGovernment.Tests;

/// <summary>Every provider requires its own credential, and one provider's never opens another's API.</summary>
public sealed class CredentialTests(MockGovernmentFixture mock) : IClassFixture<MockGovernmentFixture>
{
    public static TheoryData<string, string> ForeignCredentials => new()
    {
        { Api.DwpMatch, MockGovernmentFixture.HmrcCredential },
        { Api.DwpMatch, MockGovernmentFixture.HomeOfficeCredential },
        { Api.HmrcLookup, MockGovernmentFixture.DwpCredential },
        { Api.HmrcLookup, MockGovernmentFixture.HomeOfficeCredential },
        { Api.HomeOfficeLookup, MockGovernmentFixture.DwpCredential },
        { Api.HomeOfficeLookup, MockGovernmentFixture.HmrcCredential },
    };

    [Theory]
    [InlineData(Api.DwpMatch, "dwp")]
    [InlineData(Api.HmrcLookup, "hmrc")]
    [InlineData(Api.HomeOfficeLookup, "home-office")]
    public async Task Call_WithoutCredential_IsRefusedWithABearerChallenge(string path, string realm)
    {
        using var response = await mock.Client().PostRawAsync(path, ValidBodyFor(path));

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().Should().Be($"Bearer realm=\"{realm}\"");
    }

    [Theory]
    [MemberData(nameof(ForeignCredentials))]
    public async Task Call_WithAnotherProvidersCredential_IsRefused(string path, string credential)
    {
        using var response = await mock.Client(credential).PostRawAsync(path, ValidBodyFor(path));

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().Should().Contain("error=\"invalid_token\"");
    }

    [Theory]
    [InlineData("dwp-sandbox-credentia")]
    [InlineData("dwp-sandbox-credential2")]
    [InlineData("DWP-SANDBOX-CREDENTIAL")]
    public async Task Call_WithAWrongCredential_IsRefused(string credential)
    {
        using var response = await mock.Client(credential).MatchCitizenAsync("AB123456C", "Smith", "1990-01-01");

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await response.JsonAsync()).GetProperty("type").GetString().Should().Be("urn:mock-central-government:problem:unauthorized");
    }

    [Fact]
    public async Task Call_WithTheRightCredentialInAnotherScheme_IsRefused()
    {
        using var client = mock.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", MockGovernmentFixture.DwpCredential);

        using var response = await client.MatchCitizenAsync("AB123456C", "Smith", "1990-01-01");

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Call_WithBearerSchemeInLowerCase_IsAccepted()
    {
        // RFC 9110 §11.1: the authentication scheme is case-insensitive.
        using var client = mock.Client();
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "bearer " + MockGovernmentFixture.DwpCredential).Should().BeTrue();

        using var response = await client.MatchCitizenAsync("AB123456C", "Smith", "1990-01-01");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Claims_WithoutCredential_AreRefusedBeforeTheCitizenIsLookedUp()
    {
        var citizenId = await mock.Client(MockGovernmentFixture.DwpCredential).MatchedCitizenIdAsync("AB123456C", "Smith", "1990-01-01");

        using var anonymous = await mock.Client().ClaimsAsync(citizenId);
        using var foreign = await mock.Client(MockGovernmentFixture.HmrcCredential).ClaimsAsync(citizenId);

        anonymous.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        foreign.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Credential_WhenConfigured_ReplacesTheSandboxDefault()
    {
        await using var app = MockGovernmentFixture.Build(new Dictionary<string, string?>
        {
            ["MockCentralGovernment:Providers:Dwp:Credential"] = "configured-dwp-credential",
        });
        var baseAddress = await app.StartOnFreePortAsync();
        using var handler = new ContractCheckingHandler(ProviderContracts.Instance);
        using var client = new HttpClient(handler) { BaseAddress = baseAddress };
        Api.AddCallerHeaders(client.DefaultRequestHeaders);

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MockGovernmentFixture.DwpCredential);
        using var sandbox = await client.MatchCitizenAsync("AB123456C", "Smith", "1990-01-01");
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "configured-dwp-credential");
        using var configured = await client.MatchCitizenAsync("AB123456C", "Smith", "1990-01-01");

        sandbox.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        configured.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("MockCentralGovernment:Providers:Hmrc:Credential", "dwp-sandbox-credential", "must differ")]
    [InlineData("MockCentralGovernment:Providers:HomeOffice:Credential", "", "is required")]
    [InlineData("MockCentralGovernment:Providers:Dwp:Credential", "has spaces in it", "b64token")]
    [InlineData("MockCentralGovernment:Population:Size", "-1", "Population:Size")]
    [InlineData("MockCentralGovernment:Control:DefaultTimeoutHoldMilliseconds", "700000", "DefaultTimeoutHoldMilliseconds")]
    public async Task Start_WithInvalidSettings_FailsNamingTheSetting(string key, string value, string expected)
    {
        await using var app = MockGovernmentFixture.Build(new Dictionary<string, string?> { [key] = value });

        Func<Task> start = () => app.StartOnFreePortAsync();

        (await start.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain(expected);
    }

    private static string ValidBodyFor(string path) => path == Api.HomeOfficeLookup
        ? """{"nationalAsylumSeekerServiceNumber":"240712349","lastName":"Khan","dateOfBirth":"1990-01-01"}"""
        : """{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"1990-01-01"}""";
}
