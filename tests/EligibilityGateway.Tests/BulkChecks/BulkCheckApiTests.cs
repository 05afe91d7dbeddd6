using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Tests.EndToEnd;
using Microsoft.Data.Sqlite;

namespace EligibilityGateway.Tests.BulkChecks;

/// <summary>
/// <c>/v1/bulk-checks</c> through real HTTP against the sandbox (mock central government, gateway, real Redis, real
/// SQLite): uploads in JSON and CSV with bad rows, limits, isolation, cancellation, results, paging and export, and one
/// audit record per item.
/// </summary>
public sealed class BulkCheckApiTests(SandboxFixture sandbox) : IClassFixture<SandboxFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => sandbox.ResetFaultsAsync();

    public Task DisposeAsync() => sandbox.ResetFaultsAsync();

    [Fact]
    public async Task BulkCheck_JsonWithABadRow_StartsWithTheGoodRowsAndReportsTheBadOneByRowAndField()
    {
        var token = await sandbox.TokenAsync();
        var body = $$"""
            [{"caseReference":"BULK-1","subject":{{Subjects.Smith}}},
             {"caseReference":"BULK-2","subject":{{Subjects.Jones}}},
             {"caseReference":"BULK-3","subject":{"nationalInsuranceNumber":"NOT-AN-NI","lastName":"Smith","dateOfBirth":"1990-01-01"} },
             {"caseReference":"BULK-4","subject":{{Subjects.Brown}}},
             {"caseReference":"BULK-5","subject":{{Subjects.Khan}}}]
            """;

        using var accepted = await BulkHttp.SubmitAsync(sandbox, token, body, "application/json");

        accepted.StatusCode.Should().Be(HttpStatusCode.Accepted, await accepted.Content.ReadAsStringAsync());
        using var submitted = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync());
        var id = submitted.RootElement.GetProperty("bulkCheckId").GetString()!;
        accepted.Headers.Location!.ToString().Should().Be($"/v1/bulk-checks/{id}");
        submitted.RootElement.GetProperty("total").GetInt32().Should().Be(5);
        submitted.RootElement.GetProperty("invalid").GetInt32().Should().Be(1);
        var rejected = submitted.RootElement.GetProperty("rejectedRows").EnumerateArray().ToList();
        rejected.Should().ContainSingle();
        rejected[0].GetProperty("row").GetInt32().Should().Be(3);
        rejected[0].GetProperty("field").GetString().Should().Be("subject.nationalInsuranceNumber");

        using var done = await BulkHttp.WaitUntilFinishedAsync(sandbox, token, id);
        var status = done.RootElement;
        status.GetProperty("status").GetString().Should().Be("completed");
        status.GetProperty("completed").GetInt32().Should().Be(4);
        status.GetProperty("pending").GetInt32().Should().Be(0);
        status.GetProperty("outcomes").GetProperty("eligible").GetInt32().Should().Be(2);
        status.GetProperty("outcomes").GetProperty("notEligible").GetInt32().Should().Be(1);
        status.GetProperty("outcomes").GetProperty("notFound").GetInt32().Should().Be(1);
        status.GetProperty("expiresAt").GetDateTime().Should().BeAfter(status.GetProperty("finishedAt").GetDateTime());

        var rows = await BulkHttp.AllResultsAsync(sandbox, token, id, pageSize: 100);
        rows.Select(r => r.GetProperty("row").GetInt32()).Should().Equal(1, 2, 3, 4, 5);
        rows.Select(r => r.TryGetProperty("outcome", out var o) ? o.GetString() : r.GetProperty("status").GetString())
            .Should().Equal("eligible", "not-eligible", "invalid", "not-found", "eligible");
        rows[2].GetProperty("errors")[0].GetProperty("field").GetString().Should().Be("subject.nationalInsuranceNumber");
        rows[2].TryGetProperty("checkId", out _).Should().BeFalse("an invalid row is never checked");
    }

    [Fact]
    public async Task BulkCheck_CsvWithBadRows_ReportsEachRowNumberAndColumn()
    {
        var token = await sandbox.TokenAsync();
        var csv = "caseReference,nationalInsuranceNumber,nationalAsylumSeekerServiceNumber,lastName,dateOfBirth\r\n"
            + "CSV-1,AB123456C,,Smith,1990-01-01\r\n"
            + "CSV-2,,240712349,Khan,1990-01-01\r\n"
            + "CSV-3,CE234567A,,Jones,1985-13-15\r\n"
            + ",EH345678B,,Taylor,1978-11-30\r\n"
            + "\"CSV-5, quoted\",JK456789C,,Brown,1992-02-29\r\n";

        using var accepted = await BulkHttp.SubmitAsync(sandbox, token, csv, "text/csv");

        accepted.StatusCode.Should().Be(HttpStatusCode.Accepted, await accepted.Content.ReadAsStringAsync());
        using var submitted = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync());
        var rejected = submitted.RootElement.GetProperty("rejectedRows").EnumerateArray()
            .Select(r => (r.GetProperty("row").GetInt32(), r.GetProperty("field").GetString())).ToList();
        rejected.Should().BeEquivalentTo([(3, "dateOfBirth"), (4, "caseReference")]);
        var id = submitted.RootElement.GetProperty("bulkCheckId").GetString()!;

        using var done = await BulkHttp.WaitUntilFinishedAsync(sandbox, token, id);
        done.RootElement.GetProperty("completed").GetInt32().Should().Be(3);
        done.RootElement.GetProperty("invalid").GetInt32().Should().Be(2);
        var rows = await BulkHttp.AllResultsAsync(sandbox, token, id, pageSize: 2);
        rows.Select(r => r.GetProperty("caseReference").ValueKind == JsonValueKind.String ? r.GetProperty("caseReference").GetString() : null)
            .Should().Equal("CSV-1", "CSV-2", null, null, "CSV-5, quoted");
        rows.Select(r => r.GetProperty("status").GetString()).Should().Equal("completed", "completed", "invalid", "invalid", "completed");
    }

    [Fact]
    public async Task BulkCheck_EveryRowBad_IsRefusedWholeWithEachRowNamed()
    {
        var token = await sandbox.TokenAsync();
        var body = """[{"caseReference":"X","subject":{"lastName":"Smith","dateOfBirth":"1990-01-01"}},{"subject":{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"2990-01-01"}}]""";

        using var refused = await BulkHttp.SubmitAsync(sandbox, token, body, "application/json");

        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        var fields = problem.RootElement.GetProperty("errors").EnumerateObject().Select(p => p.Name).ToList();
        fields.Should().Contain(["rows[1].subject.nationalInsuranceNumber", "rows[2].caseReference", "rows[2].subject.dateOfBirth"]);
    }

    [Fact]
    public async Task BulkCheck_UnknownCsvColumnOrBadQuery_IsRefusedWithoutQuotingTheHeader()
    {
        var token = await sandbox.TokenAsync();
        using var badHeader = await BulkHttp.SubmitAsync(sandbox, token, "AB123456C,Smith,1990-01-01\r\nCE234567A,Jones,1985-05-15\r\n", "text/csv");
        badHeader.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await badHeader.Content.ReadAsStringAsync()).Should().NotContain("AB123456C").And.NotContain("Smith");

        using var badScheme = await BulkHttp.SubmitAsync(sandbox, token, "[]", "application/json", scheme: "no-such-scheme");
        badScheme.StatusCode.Should().Be(HttpStatusCode.BadRequest);

        using var underConsent = await BulkHttp.SubmitAsync(sandbox, token, $$"""[{"caseReference":"C","subject":{{Subjects.Smith}}}]""", "application/json", basis: "consent");
        underConsent.StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task BulkCheck_OverTenThousandRowsOrFiveMebibytes_Answers413()
    {
        var token = await sandbox.TokenAsync();
        var rows = string.Join(",", Enumerable.Range(0, 10_001).Select(i => $$"""{"caseReference":"R{{i}}","subject":{{Subjects.Smith}}}"""));
        using var tooMany = await BulkHttp.SubmitAsync(sandbox, token, $"[{rows}]", "application/json");
        tooMany.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        using var problem = JsonDocument.Parse(await tooMany.Content.ReadAsStringAsync());
        problem.RootElement.GetProperty("type").GetString().Should().Be("urn:eligibility-gateway:problem:bulk-check-too-large");

        var csvRows = new StringBuilder("caseReference,nationalInsuranceNumber,lastName,dateOfBirth\r\n");
        for (var i = 0; i <= 10_000; i++)
        {
            csvRows.Append("R,AB123456C,Smith,1990-01-01\r\n");
        }

        using var tooManyCsv = await BulkHttp.SubmitAsync(sandbox, token, csvRows.ToString(), "text/csv");
        tooManyCsv.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);

        var huge = new StringBuilder("caseReference,nationalInsuranceNumber,lastName,dateOfBirth\r\n");
        var longName = new string('a', 600);
        while (huge.Length <= 5 * 1024 * 1024)
        {
            huge.Append("R,AB123456C,").Append(longName).Append(",1990-01-01\r\n");
        }

        using var tooBig = await BulkHttp.SubmitAsync(sandbox, token, huge.ToString(), "text/csv");
        tooBig.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task BulkCheck_OfAnotherCouncil_Is404Everywhere()
    {
        var leeds = await sandbox.TokenAsync();
        var camden = await sandbox.TokenAsync("camden");
        using var accepted = await BulkHttp.SubmitAsync(sandbox, leeds, $$"""[{"caseReference":"ISO-1","subject":{{Subjects.Smith}}}]""", "application/json");
        using var submitted = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync());
        var id = submitted.RootElement.GetProperty("bulkCheckId").GetString()!;

        foreach (var (method, path) in new[] { (HttpMethod.Get, ""), (HttpMethod.Get, "/results"), (HttpMethod.Get, "/export"), (HttpMethod.Delete, "") })
        {
            using var response = await BulkHttp.SendAsync(sandbox, camden, method, $"/v1/bulk-checks/{id}{path}");
            response.StatusCode.Should().Be(HttpStatusCode.NotFound, $"{method} {path} is Leeds's");
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            problem.RootElement.GetProperty("type").GetString().Should().Be("urn:eligibility-gateway:problem:bulk-check-not-found");
        }

        using var unknown = await BulkHttp.SendAsync(sandbox, leeds, HttpMethod.Get, $"/v1/bulk-checks/{Guid.NewGuid()}");
        unknown.StatusCode.Should().Be(HttpStatusCode.NotFound);
        using var mine = await BulkHttp.SendAsync(sandbox, leeds, HttpMethod.Get, $"/v1/bulk-checks/{id}");
        mine.StatusCode.Should().Be(HttpStatusCode.OK);
        (await BulkHttp.WaitUntilFinishedAsync(sandbox, leeds, id)).Dispose();
    }

    [Fact]
    public async Task BulkCheck_Cancelled_StopsItemsNotYetStartedAndKeepsWhatWasChecked()
    {
        var token = await sandbox.TokenAsync();
        await sandbox.SetFaultsAsync("dwp", new { latencyMilliseconds = 300 });
        using var accepted = await BulkHttp.SubmitAsync(sandbox, token, BulkHttp.SyntheticJson(600, "CANCEL", first: 10_000), "application/json");
        using var submitted = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync());
        var id = submitted.RootElement.GetProperty("bulkCheckId").GetString()!;
        await BulkHttp.WaitForAsync(sandbox, token, id, s => s.GetProperty("completed").GetInt32() > 0);

        using var cancel = await BulkHttp.SendAsync(sandbox, token, HttpMethod.Delete, $"/v1/bulk-checks/{id}");

        cancel.StatusCode.Should().Be(HttpStatusCode.OK);
        using var cancelled = JsonDocument.Parse(await cancel.Content.ReadAsStringAsync());
        cancelled.RootElement.GetProperty("status").GetString().Should().Be("cancelled");
        using var settled = await BulkHttp.WaitForAsync(sandbox, token, id, s => s.GetProperty("pending").GetInt32() == 0);
        var final = settled.RootElement;
        final.GetProperty("status").GetString().Should().Be("cancelled");
        final.GetProperty("cancelled").GetInt32().Should().BeGreaterThan(0);
        (final.GetProperty("completed").GetInt32() + final.GetProperty("cancelled").GetInt32()).Should().Be(600);

        // Every checked item has its audit record; no cancelled item has one.
        var rows = await BulkHttp.AllResultsAsync(sandbox, token, id, pageSize: 1000);
        var checkedIds = rows.Where(r => r.GetProperty("status").GetString() == "completed").Select(r => r.GetProperty("checkId").GetString()!).ToList();
        var cancelledIds = rows.Where(r => r.GetProperty("status").GetString() == "cancelled").Select(r => r.GetProperty("checkId").GetString()!).ToList();
        BulkHttp.AuditRecordsPerCheckId(sandbox.AuditDatabase, checkedIds).Values.Should().AllSatisfy(n => n.Should().Be(1));
        BulkHttp.AuditRecordsPerCheckId(sandbox.AuditDatabase, cancelledIds).Values.Should().AllSatisfy(n => n.Should().Be(0));

        using var again = await BulkHttp.SendAsync(sandbox, token, HttpMethod.Delete, $"/v1/bulk-checks/{id}");
        again.StatusCode.Should().Be(HttpStatusCode.OK, "cancelling twice changes nothing");
    }

    [Fact]
    public async Task BulkCheck_EachItem_HasExactlyOneAuditRecordUnderItsCheckIdAndTheJobsTrace()
    {
        var token = await sandbox.TokenAsync();
        using var accepted = await BulkHttp.SubmitAsync(sandbox, token, BulkHttp.SyntheticJson(250, "AUDIT", first: 20_000), "application/json");
        using var submitted = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync());
        var id = submitted.RootElement.GetProperty("bulkCheckId").GetString()!;
        (await BulkHttp.WaitUntilFinishedAsync(sandbox, token, id)).Dispose();

        var rows = await BulkHttp.AllResultsAsync(sandbox, token, id, pageSize: 7);
        rows.Should().HaveCount(250);
        rows.Select(r => r.GetProperty("row").GetInt32()).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        var checkIds = rows.Select(r => r.GetProperty("checkId").GetString()!).ToList();
        checkIds.Should().OnlyHaveUniqueItems();
        BulkHttp.AuditRecordsPerCheckId(sandbox.AuditDatabase, checkIds).Values.Should().AllSatisfy(n => n.Should().Be(1));
        BulkHttp.TraceIdsOf(sandbox.AuditDatabase, checkIds).Should().ContainSingle("every item of a job is recorded under the trace of the request that submitted it")
            .Which.Should().MatchRegex("^[0-9a-f]{32}$");

        // Each item is a check the council can read back like any other.
        using var readBack = await sandbox.GetCheckAsync(token, checkIds[17]);
        readBack.StatusCode.Should().Be(HttpStatusCode.OK);
        using var check = JsonDocument.Parse(await readBack.Content.ReadAsStringAsync());
        check.RootElement.GetProperty("outcome").GetString().Should().Be(rows[17].GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task BulkCheck_Export_IsCsvOrJsonLinesRowForRowWithFormulaCellsNeutralised()
    {
        var token = await sandbox.TokenAsync();
        var body = $$"""[{"caseReference":"=HYPERLINK(1)","subject":{{Subjects.Smith}}},{"caseReference":"EXP-2","subject":{{Subjects.Brown}}}]""";
        using var accepted = await BulkHttp.SubmitAsync(sandbox, token, body, "application/json");
        using var submitted = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync());
        var id = submitted.RootElement.GetProperty("bulkCheckId").GetString()!;
        (await BulkHttp.WaitUntilFinishedAsync(sandbox, token, id)).Dispose();

        using var csv = await BulkHttp.SendAsync(sandbox, token, HttpMethod.Get, $"/v1/bulk-checks/{id}/export?format=csv");
        csv.StatusCode.Should().Be(HttpStatusCode.OK);
        csv.Content.Headers.ContentType!.MediaType.Should().Be("text/csv");
        var lines = (await csv.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(3);
        lines[0].Should().Be("row,caseReference,status,checkId,outcome,servedFrom,checkedAt,validUntil,confirmedBy,auditSequence,rule,errors");
        lines[1].Should().StartWith("1,\"'=HYPERLINK(1)\",completed,").And.Contain(",eligible,");
        lines[2].Should().StartWith("2,EXP-2,completed,").And.Contain(",not-found,");
        string.Concat(lines).Should().NotContain("AB123456C").And.NotContain("Smith").And.NotContain("1990-01-01");

        using var jsonl = await BulkHttp.SendAsync(sandbox, token, HttpMethod.Get, $"/v1/bulk-checks/{id}/export?format=jsonl");
        jsonl.Content.Headers.ContentType!.MediaType.Should().Be("application/x-ndjson");
        var records = (await jsonl.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l)).ToList();
        records.Select(r => r.RootElement.GetProperty("caseReference").GetString()).Should().Equal("=HYPERLINK(1)", "EXP-2");

        using var badFormat = await BulkHttp.SendAsync(sandbox, token, HttpMethod.Get, $"/v1/bulk-checks/{id}/export?format=xml");
        badFormat.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        using var badCursor = await BulkHttp.SendAsync(sandbox, token, HttpMethod.Get, $"/v1/bulk-checks/{id}/results?cursor=nonsense");
        badCursor.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }
}

/// <summary>What the bulk-check tests share: requests, polling with a deadline, synthetic rows and audit reads.</summary>
internal static class BulkHttp
{
    public static async Task<HttpResponseMessage> SubmitAsync(
        SandboxFixture sandbox, string token, string body, string contentType, string scheme = "free-school-meals", string basis = "public-task") =>
        await SubmitAsync(sandbox.Http, sandbox.Gateway("/"), token, body, contentType, scheme, basis);

    public static async Task<HttpResponseMessage> SubmitAsync(
        HttpClient http, Uri gateway, string token, string body, string contentType, string scheme = "free-school-meals", string basis = "public-task")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway, $"/v1/bulk-checks?scheme={scheme}&lawfulBasis={basis}"))
        {
            Content = new StringContent(body, Encoding.UTF8, contentType),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.SendAsync(request);
    }

    public static Task<HttpResponseMessage> SendAsync(SandboxFixture sandbox, string token, HttpMethod method, string path) =>
        SendAsync(sandbox.Http, sandbox.Gateway("/"), token, method, path);

    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, Uri gateway, string token, HttpMethod method, string path)
    {
        using var request = new HttpRequestMessage(method, new Uri(gateway, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.SendAsync(request);
    }

    public static Task<JsonDocument> WaitUntilFinishedAsync(SandboxFixture sandbox, string token, string id) =>
        WaitForAsync(sandbox, token, id, s => s.GetProperty("status").GetString() is "completed" or "cancelled");

    public static Task<JsonDocument> WaitForAsync(SandboxFixture sandbox, string token, string id, Func<JsonElement, bool> done, TimeSpan? within = null) =>
        WaitForAsync(sandbox.Http, sandbox.Gateway("/"), token, id, done, within);

    /// <summary>Polls the status resource until <paramref name="done"/> holds; fails at the deadline with the last status.</summary>
    public static async Task<JsonDocument> WaitForAsync(HttpClient http, Uri gateway, string token, string id, Func<JsonElement, bool> done, TimeSpan? within = null)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        var deadline = within ?? TimeSpan.FromSeconds(60);
        string last = "";
        while (waited.Elapsed < deadline)
        {
            using var response = await SendAsync(http, gateway, token, HttpMethod.Get, $"/v1/bulk-checks/{id}");
            last = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var status = JsonDocument.Parse(last);
                if (done(status.RootElement))
                {
                    return status;
                }

                status.Dispose();
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"Bulk check {id} did not reach the expected state; last status: {last}");
    }

    public static Task<List<JsonElement>> AllResultsAsync(SandboxFixture sandbox, string token, string id, int pageSize) =>
        AllResultsAsync(sandbox.Http, sandbox.Gateway("/"), token, id, pageSize);

    /// <summary>Walks the results by cursor, page by page.</summary>
    public static async Task<List<JsonElement>> AllResultsAsync(HttpClient http, Uri gateway, string token, string id, int pageSize)
    {
        var rows = new List<JsonElement>();
        string? cursor = null;
        do
        {
            var path = $"/v1/bulk-checks/{id}/results?limit={pageSize}" + (cursor is null ? "" : $"&cursor={cursor}");
            using var response = await SendAsync(http, gateway, token, HttpMethod.Get, path);
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            var page = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            rows.AddRange(page.GetProperty("results").EnumerateArray());
            cursor = page.GetProperty("next").ValueKind == JsonValueKind.String ? page.GetProperty("next").GetString() : null;
        }
        while (cursor is not null);

        return rows;
    }

    /// <summary>A well-formed NI number for <paramref name="i"/> that no fixture holds (prefix <c>WX</c>).</summary>
    public static string NiNumber(int i) => $"WX{i:D6}A";

    /// <summary>A NASS number for <paramref name="i"/>: month 06, so always well-formed.</summary>
    public static string NassNumber(int i) => $"2606{i:D5}";

    /// <summary><paramref name="count"/> distinct people, as a JSON upload.</summary>
    public static string SyntheticJson(int count, string prefix, bool nass = false, int first = 1) =>
        "[" + string.Join(",", Enumerable.Range(first, count).Select(i => nass
            ? $$"""{"caseReference":"{{prefix}}-{{i}}","subject":{"nationalAsylumSeekerServiceNumber":"{{NassNumber(i)}}","lastName":"Bulk","dateOfBirth":"1980-06-15"} }"""
            : $$"""{"caseReference":"{{prefix}}-{{i}}","subject":{"nationalInsuranceNumber":"{{NiNumber(i)}}","lastName":"Bulk","dateOfBirth":"1980-06-15"} }""")) + "]";

    /// <summary>How many audit records carry each check id (0 for none), read from the audit database.</summary>
    public static Dictionary<string, int> AuditRecordsPerCheckId(string auditDatabase, IEnumerable<string> checkIds)
    {
        var counts = checkIds.ToDictionary(id => id, _ => 0);
        using var connection = new SqliteConnection($"Data Source={auditDatabase};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT check_id FROM audit_records WHERE check_id IS NOT NULL;";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var id = reader.GetString(0);
            if (counts.TryGetValue(id, out var n))
            {
                counts[id] = n + 1;
            }
        }

        return counts;
    }

    /// <summary>The distinct trace ids of the audit records of <paramref name="checkIds"/>.</summary>
    public static HashSet<string?> TraceIdsOf(string auditDatabase, IEnumerable<string> checkIds)
    {
        var wanted = checkIds.ToHashSet();
        var traces = new HashSet<string?>();
        using var connection = new SqliteConnection($"Data Source={auditDatabase};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT check_id, trace_id FROM audit_records WHERE check_id IS NOT NULL;";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (wanted.Contains(reader.GetString(0)))
            {
                traces.Add(reader.IsDBNull(1) ? null : reader.GetString(1));
            }
        }

        return traces;
    }
}
