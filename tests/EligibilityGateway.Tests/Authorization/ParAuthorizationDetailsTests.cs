using System.Net;
using EligibilityGateway.Authorization;
using EligibilityGateway.Tests.Consents;

namespace EligibilityGateway.Tests.Authorization;

/// <summary>
/// <c>authorization_details</c> is JSON inside a form parameter (RFC 9396 §2). JSON text may escape an unpaired UTF-16
/// surrogate (RFC 8259 §8.2), which parses but is no Unicode string: wherever it sits in the document, PAR answers 400
/// <c>invalid_authorization_details</c>, never a 500.
/// </summary>
public sealed class ParAuthorizationDetailsTests(ConsentGateway gateway) : IClassFixture<ConsentGateway>
{
    [Theory]
    [InlineData("a lone high surrogate as the type", """[{"type":"\ud800"}]""")]
    [InlineData("a lone low surrogate as the consent id", """[{"type":"eligibility-check","consent_id":"\udc00"}]""")]
    [InlineData("a lone surrogate as a member name", """[{"\ud800":1,"type":"eligibility-check","consent_id":"{consent}"}]""")]
    [InlineData("a lone surrogate in a member the gateway does not read", """[{"type":"eligibility-check","consent_id":"{consent}","note":"\ud800"}]""")]
    [InlineData("a high surrogate ending a string deep in the document", """[{"type":"eligibility-check","consent_id":"{consent}","more":[{"x":["a\udbff"]}]}]""")]
    [InlineData("a pair in the wrong order", """[{"type":"eligibility-check","consent_id":"{consent}","note":"\udc00\ud800"}]""")]
    public async Task Par_WithALoneSurrogateEscapedInAuthorizationDetails_IsInvalidAuthorizationDetails(string reason, string details)
    {
        using var flow = new CodeFlowDriver(gateway);
        var consentId = await flow.NewConsentAsync();
        var parameters = flow.ParParameters(consentId);
        parameters["authorization_details"] = details.Replace("{consent}", consentId, StringComparison.Ordinal);

        using var response = await flow.PostAsync("/connect/par", parameters);

        (await response.ShouldBeOAuthErrorAsync(400, OAuthErrorCodes.InvalidAuthorizationDetails)).Should().Contain("well-formed Unicode", reason);
    }

    [Fact]
    public async Task Par_WithAWellFormedSurrogatePairEscaped_IsAccepted_ButNotWithHalfOfIt()
    {
        using var flow = new CodeFlowDriver(gateway);
        var consentId = await flow.NewConsentAsync();
        var parameters = flow.ParParameters(consentId);
        parameters["authorization_details"] = $$"""[{"type":"eligibility-check","consent_id":"{{consentId}}","note":"\ud83d\ude00"}]""";
        using var pair = await flow.PostAsync("/connect/par", parameters);
        parameters["authorization_details"] = $$"""[{"type":"eligibility-check","consent_id":"{{consentId}}","note":"\ud83d"}]""";
        using var half = await flow.PostAsync("/connect/par", parameters);

        pair.StatusCode.Should().Be(HttpStatusCode.Created, "an escaped surrogate pair is one well-formed character");
        await half.ShouldBeOAuthErrorAsync(400, OAuthErrorCodes.InvalidAuthorizationDetails);
    }

    [Theory]
    [InlineData(17)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(300)]
    public async Task Par_WithAuthorizationDetailsNestedTooDeep_IsInvalidAuthorizationDetails(int depth)
    {
        using var flow = new CodeFlowDriver(gateway);
        var consentId = await flow.NewConsentAsync();
        var parameters = flow.ParParameters(consentId);
        var nested = string.Concat(Enumerable.Repeat("{\"more\":", depth - 2)) + "1" + new string('}', depth - 2);
        parameters["authorization_details"] = $$"""[{"type":"eligibility-check","consent_id":"{{consentId}}","more":{{nested}}}]""";

        using var response = await flow.PostAsync("/connect/par", parameters);

        (await response.ShouldBeOAuthErrorAsync(400, OAuthErrorCodes.InvalidAuthorizationDetails)).Should().Contain("nested at most 16 deep");
    }
}
