using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Sandbox;
using EligibilityGateway.Tests.Infrastructure;
using EligibilityGateway.Tests.TrustFramework;

namespace EligibilityGateway.Tests.BulkChecks;

/// <summary>
/// A gateway process killed (SIGKILL) in the middle of a bulk job, and a new process on the same storage: the job
/// resumes and finishes with every item checked, one audit record per item, and no provider asked about an item more
/// than the items in flight at the kill.
/// </summary>
public sealed class BulkCheckResumptionTests() : OwnMockBulkTest("egw-bulk-resume-")
{
    private const int Items = 600;
    [Fact]
    public async Task BulkCheck_GatewayKilledMidJob_ResumesInANewProcessWithoutLosingOrRecordingAnyItemTwice()
    {
        using (var latency = await Http.PutAsJsonAsync(new Uri(Mock.Address, "/_control/providers/home-office"), new { latencyMilliseconds = 200 }))
        {
            latency.EnsureSuccessStatusCode();
        }

        string id;
        await using (var first = await StartGatewayAsync())
        {
            var token = await TokenAsync(first.Address);
            using var accepted = await BulkHttp.SubmitAsync(Http, first.Address, token, BulkHttp.SyntheticJson(Items, "RESUME", nass: true, first: 60_000), "application/json");
            accepted.StatusCode.Should().Be(HttpStatusCode.Accepted);
            using var submitted = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync());
            id = submitted.RootElement.GetProperty("bulkCheckId").GetString()!;

            using var partly = await BulkHttp.WaitForAsync(Http, first.Address, token, id, s => s.GetProperty("completed").GetInt32() >= 100);
            await first.KillAsync();
        }

        await using var second = await StartGatewayAsync();
        var secondToken = await TokenAsync(second.Address);
        using var done = await BulkHttp.WaitForAsync(Http, second.Address, secondToken, id, s => s.GetProperty("status").GetString() == "completed", TimeSpan.FromSeconds(90));

        done.RootElement.GetProperty("completed").GetInt32().Should().Be(Items, "no item is lost");
        done.RootElement.GetProperty("pending").GetInt32().Should().Be(0);
        var rows = await BulkHttp.AllResultsAsync(Http, second.Address, secondToken, id, pageSize: 1000);
        rows.Should().HaveCount(Items);
        var checkIds = rows.Select(r => r.GetProperty("checkId").GetString()!).ToList();
        var perCheck = BulkHttp.AuditRecordsPerCheckId(Path.Combine(DataDirectory, "audit.db"), checkIds);
        perCheck.Values.Should().AllSatisfy(n => n.Should().Be(1), "every item is recorded exactly once, across the kill");

        // At the providers: every item asked once, plus at most the items in flight when the process died (their
        // answers were never recorded nor released), which the bulk share of 64 − 2 bounds.
        var calls = await ProviderCallsAsync("home-office");
        calls.Should().BeGreaterThanOrEqualTo(Items).And.BeLessThanOrEqualTo(Items + 62);
        second.Output.Should().Contain("resumed", "the new process settles what the dead one had claimed");
    }

    private async Task<ServiceProcess> StartGatewayAsync()
    {
        var settings = new Dictionary<string, string?>();
        foreach (var (key, value) in SandboxHost.GatewaySettings(TrustFrameworkFiles.SandboxPath, DataDirectory, Mock.Address, redis: null))
        {
            settings[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        // A short lease, so that the job of the killed process is free again within two seconds.
        settings["BulkChecks__LeaseDuration"] = "00:00:02";
        settings["BulkChecks__PollInterval"] = "00:00:00.2";
        return await ServiceProcess.StartAsync("EligibilityGateway.dll", settings);
    }

    private async Task<string> TokenAsync(Uri gateway)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway, "/connect/token"))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = "eligibility.check" }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("leeds:leeds-sandbox-secret")));
        using var response = await Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("access_token").GetString()!;
    }
}
