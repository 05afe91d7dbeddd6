using System.Net;
using System.Text.Json;
using EligibilityGateway.Tests.EndToEnd;
using Microsoft.Data.Sqlite;

namespace EligibilityGateway.Tests.Audit;

/// <summary>
/// <c>GET /v1/audit/verify</c> and <c>GET /v1/audit/checkpoints</c> through real HTTP. The one test that tampers with
/// the database file runs last in this class's own sandbox, after the untouched log has verified.
/// </summary>
public sealed class AuditorApiVerifyTests(SandboxFixture sandbox) : IClassFixture<SandboxFixture>
{
    [Fact]
    public async Task Verify_OnAnUntouchedLog_IsValid_ThenAfterTamperingWithTheFile_NamesTheChangedSequence()
    {
        var leeds = await sandbox.TokenAsync("leeds");
        foreach (var subject in new[] { Subjects.Smith, Subjects.Jones, Subjects.Taylor })
        {
            using var check = await sandbox.PostCheckAsync(leeds, Subjects.Check(subject));
            check.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        var token = await sandbox.AuditorTokenAsync();
        var (newest, _) = await sandbox.EventsAsync(token, "?limit=1");
        var last = newest[0].Sequence();

        using (var untouched = await VerifyAsync(token))
        {
            untouched.RootElement.GetProperty("valid").GetBoolean().Should().BeTrue(untouched.RootElement.GetRawText());
            untouched.RootElement.GetProperty("count").GetInt64().Should().BeGreaterThanOrEqualTo(last);
            untouched.RootElement.GetProperty("lastSequence").GetInt64().Should().BeGreaterThanOrEqualTo(last);
            untouched.RootElement.TryGetProperty("firstBadSequence", out _).Should().BeFalse();
        }

        // Record `last - 1` (a check) now says something it did not, as someone with write access to the file could make it.
        var target = last - 1;
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = sandbox.AuditDatabase, Pooling = false }.ToString()))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "DROP TRIGGER audit_records_never_updated; UPDATE audit_records SET decision_rule = 'rewritten' WHERE sequence = $sequence;";
            command.Parameters.AddWithValue("$sequence", target);
            command.ExecuteNonQuery().Should().Be(1);
        }

        using var tampered = await VerifyAsync(token);
        tampered.RootElement.GetProperty("valid").GetBoolean().Should().BeFalse();
        tampered.RootElement.GetProperty("firstBadSequence").GetInt64().Should().Be(target);
        tampered.RootElement.GetProperty("reason").GetString().Should().NotBeNullOrWhiteSpace();
    }

    [Fact]
    public async Task Verify_ByACouncilsAuditor_IsForbidden_BecauseItCoversEveryCouncil()
    {
        var token = await sandbox.AuditorTokenAsync(AuditorApiClient.LeedsAuditor);

        using var verify = await sandbox.AuditGetAsync(token, "/v1/audit/verify");
        using var checkpoints = await sandbox.AuditGetAsync(token, "/v1/audit/checkpoints");

        verify.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await AuditorApiClient.ProblemTypeAsync(verify)).Should().Be("urn:eligibility-gateway:problem:outside-audit-scope");
        checkpoints.StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Checkpoints_AreTheStoredSignedJwsWithTheirDecodedPayload_PagedNewestFirst()
    {
        // A checkpoint falls due every 1,000 records (Audit:Checkpoints:EveryRecords), so this many make at least one.
        await sandbox.AppendDirectlyAsync(1_001, i => AuditTestLog.Check(i));

        var token = await sandbox.AuditorTokenAsync();
        var stored = new List<(long Sequence, string HeadHash, string Jws)>();
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = sandbox.AuditDatabase, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString()))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT sequence, head_hash, jws FROM audit_checkpoints ORDER BY sequence DESC;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                stored.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
            }
        }

        var walked = new List<JsonElement>();
        string? next = null;
        do
        {
            using var response = await sandbox.AuditGetAsync(token, "/v1/audit/checkpoints?limit=1" + (next is null ? "" : "&cursor=" + Uri.EscapeDataString(next)));
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            using var page = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            walked.AddRange(page.RootElement.GetProperty("checkpoints").EnumerateArray().Select(c => c.Clone()));
            next = page.RootElement.GetProperty("next").GetString();
        }
        while (next is not null);

        stored.Should().NotBeEmpty("the sandbox signs a checkpoint within its interval, and on start-up records");
        walked.Select(c => c.Sequence()).Should().BeInDescendingOrder().And.OnlyHaveUniqueItems();
        walked.Select(c => (c.Sequence(), c.Text("headHash")!, c.Text("jws")!)).Should().Contain(stored);
        foreach (var checkpoint in walked)
        {
            var payload = JsonDocument.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(checkpoint.Text("jws")!.Split('.')[1])).RootElement;
            payload.GetProperty("sequence").GetInt64().Should().Be(checkpoint.Sequence());
            payload.GetProperty("headHash").GetString().Should().Be(checkpoint.Text("headHash"));
        }
    }

    private async Task<JsonDocument> VerifyAsync(string token)
    {
        using var response = await sandbox.AuditGetAsync(token, "/v1/audit/verify");
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, text);
        return JsonDocument.Parse(text);
    }
}
