using System.Net;
using System.Text.Json;

namespace EligibilityGateway.Tests.EndToEnd;

/// <summary>The sandbox with Leeds limited to three free-school-meals checks a minute.</summary>
public sealed class RateLimitedSandboxFixture : SandboxFixture
{
    protected override string? TrustFramework()
    {
        var source = File.ReadAllText(Path.Combine(Tests.TrustFramework.TrustFrameworkFiles.RepositoryRoot, "trust-frameworks", "sandbox.yaml"));
        const string leedsPermission = "  - council: leeds\n    scheme: free-school-meals\n";
        source.Should().Contain(leedsPermission);
        var limited = source.Replace(leedsPermission, leedsPermission + "    rate_limit: { limit: 3, window: PT1M }\n", StringComparison.Ordinal);
        var path = Path.Combine(DataDirectory, "rate-limited.yaml");
        File.WriteAllText(path, limited);
        return path;
    }
}

public sealed class RateLimitTests(RateLimitedSandboxFixture sandbox) : IClassFixture<RateLimitedSandboxFixture>
{
    [Fact]
    public async Task Check_PastTheCouncilsLimitForTheScheme_Answers429WithRetryAfter()
    {
        var token = await sandbox.TokenAsync();
        for (var i = 0; i < 3; i++)
        {
            using var allowed = await sandbox.PostCheckAsync(token, Subjects.Check(Subjects.Smith, caseReference: $"LIMIT-{i}"));
            allowed.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        using var refused = await sandbox.PostCheckAsync(token, Subjects.Check(Subjects.Smith, caseReference: "LIMIT-3"));

        refused.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        refused.Headers.RetryAfter!.Delta.Should().BeGreaterThan(TimeSpan.Zero).And.BeLessThanOrEqualTo(TimeSpan.FromMinutes(1));
        refused.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        problem.RootElement.GetProperty("status").GetInt32().Should().Be(429);

        // The limit is per scheme: Leeds's council-tax-support allowance is untouched (and denied for its own reason).
        using var otherScheme = await sandbox.PostCheckAsync(token, Subjects.Check(Subjects.Smith, scheme: "council-tax-support"));
        otherScheme.StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }
}
