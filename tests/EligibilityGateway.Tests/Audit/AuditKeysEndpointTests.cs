using System.Net;
using System.Net.Http.Headers;
using EligibilityGateway.Audit;
using EligibilityGateway.Security;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace EligibilityGateway.Tests.Audit;

/// <summary><c>GET /v1/audit/jwks</c>: what an auditor fetches to verify checkpoints offline.</summary>
public sealed class AuditKeysEndpointTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("egw-audit-jwks-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task AuditJwks_WithoutAToken_ServesTheAuditKeyCacheablyAndItVerifiesTheGatewaysCheckpoints()
    {
        await using var app = TestGateway.Build(directory, new Dictionary<string, string?> { ["Audit:Checkpoints:EveryRecords"] = "2" });
        using var client = new HttpClient { BaseAddress = await app.StartOnFreePortAsync() };
        var log = app.Services.GetRequiredService<IAuditLog>();
        await log.AppendAsync(AuditTestLog.Check(1));
        await log.AppendAsync(AuditTestLog.Check(2));

        using var response = await client.GetAsync(new Uri("/v1/audit/jwks", UriKind.Relative));
        var jwks = await response.Content.ReadAsStringAsync();

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/jwk-set+json");
        response.Headers.CacheControl!.Public.Should().BeTrue();
        jwks.Should().Contain(app.Services.GetRequiredService<KeyRing>().AuditSigningKey.KeyId).And.NotContain("\"d\"");
        var tokenKids = app.Services.GetRequiredService<KeyRing>().SigningKeys.Select(k => k.KeyId);
        tokenKids.Should().AllSatisfy(kid => jwks.Should().NotContain(kid, "token keys are published at /connect/jwks, not with the audit key"));
        var result = await AuditVerifier.VerifyAsync(app.Services.GetRequiredService<IAuditStore>(), new AuditCheckpointVerifier(jwks), CancellationToken.None);
        result.Should().BeOfType<AuditVerification.Valid>().Which.LastCheckpoint.Should().NotBeNull();

        using var revalidate = new HttpRequestMessage(HttpMethod.Get, new Uri("/v1/audit/jwks", UriKind.Relative));
        revalidate.Headers.IfNoneMatch.Add(EntityTagHeaderValue.Parse(response.Headers.ETag!.ToString()));
        using var notModified = await client.SendAsync(revalidate);
        notModified.StatusCode.Should().Be(HttpStatusCode.NotModified);
    }
}
