using System.Net;
using System.Text.Json;
using EligibilityGateway.Checks;
using Microsoft.Data.Sqlite;
using StackExchange.Redis;

namespace EligibilityGateway.Tests.EndToEnd;

/// <summary>
/// The check API through real HTTP against the sandbox composition (mock central government, gateway, real
/// Redis, real SQLite): the check API end to end. Tests in one class run one after another, so each may reset the
/// cache and the mock's faults for itself.
/// </summary>
public sealed class CheckApiTests(SandboxFixture sandbox) : IClassFixture<SandboxFixture>, IAsyncLifetime
{
    public async Task InitializeAsync()
    {
        await sandbox.ResetFaultsAsync();
        await FlushCacheAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public static TheoryData<string, string, string> Fixtures => new()
    {
        { "Smith", Subjects.Smith, "eligible" },
        { "Jones", Subjects.Jones, "not-eligible" },
        { "Taylor", Subjects.Taylor, "eligible" },
        { "Brown", Subjects.Brown, "not-found" },
        { "Khan", Subjects.Khan, "eligible" },
    };

    [Theory]
    [MemberData(nameof(Fixtures))]
    public async Task Check_EachFixture_GetsItsOutcomeLiveThenFromTheCache(string name, string subject, string outcome)
    {
        var token = await sandbox.TokenAsync();

        var first = await CheckAsync(token, Subjects.Check(subject, caseReference: $"FSM-{name}"));
        var second = await CheckAsync(token, Subjects.Check(subject, caseReference: $"FSM-{name}-again"));

        first.GetProperty("outcome").GetString().Should().Be(outcome);
        first.GetProperty("servedFrom").GetString().Should().Be("live");
        second.GetProperty("outcome").GetString().Should().Be(outcome);
        second.GetProperty("servedFrom").GetString().Should().Be("cache");
        second.GetProperty("checkedAt").GetDateTime().Should().Be(first.GetProperty("checkedAt").GetDateTime());
        second.GetProperty("auditSequence").GetInt64().Should().BeGreaterThan(first.GetProperty("auditSequence").GetInt64());
        first.GetProperty("scheme").GetString().Should().Be("free-school-meals");
        first.GetProperty("lawfulBasis").GetString().Should().Be("public-task");
        first.GetProperty("consentId").ValueKind.Should().Be(JsonValueKind.Null);
        first.TryGetProperty("confirmedBy", out _).Should().BeFalse("the sandbox schemes release the outcome only");
    }

    [Fact]
    public async Task Check_ResponseCarriesExactlyTheDocumentedMembers()
    {
        var token = await sandbox.TokenAsync();

        var answer = await CheckAsync(token, Subjects.Check(Subjects.Smith));

        answer.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo(
            "checkId", "scheme", "outcome", "checkedAt", "validUntil", "servedFrom", "lawfulBasis", "consentId", "auditSequence");
        Guid.TryParse(answer.GetProperty("checkId").GetString(), out _).Should().BeTrue();
        (answer.GetProperty("validUntil").GetDateTime() - answer.GetProperty("checkedAt").GetDateTime()).Should().Be(TimeSpan.FromHours(24));
    }

    [Fact]
    public async Task Check_NationalInsuranceNumberIsNormalisedBeforeMatchingAndCaching()
    {
        var token = await sandbox.TokenAsync();

        var untidy = await CheckAsync(token, Subjects.Check("""{"nationalInsuranceNumber":" ab 12 34 56 c ","lastName":"SMITH","dateOfBirth":"1990-01-01"}"""));
        var tidy = await CheckAsync(token, Subjects.Check(Subjects.Smith));

        untidy.GetProperty("outcome").GetString().Should().Be("eligible");
        untidy.GetProperty("servedFrom").GetString().Should().Be("live");
        tidy.GetProperty("servedFrom").GetString().Should().Be("cache", "the same person, written differently, is the same cache entry");
    }

    [Fact]
    public async Task Check_WithAWrongSurnameOrBirthDate_FindsNobody()
    {
        var token = await sandbox.TokenAsync();

        var wrongName = await CheckAsync(token, Subjects.Check("""{"nationalInsuranceNumber":"AB123456C","lastName":"Smyth","dateOfBirth":"1990-01-01"}"""));
        var wrongDate = await CheckAsync(token, Subjects.Check("""{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"1990-01-02"}"""));

        wrongName.GetProperty("outcome").GetString().Should().Be("not-found");
        wrongDate.GetProperty("outcome").GetString().Should().Be("not-found");
    }

    public static TheoryData<string, string> InvalidBodies => new()
    {
        { Subjects.Check("""{"nationalInsuranceNumber":"QQ12345","lastName":"Smith","dateOfBirth":"1990-01-01"}"""), "subject.nationalInsuranceNumber" },
        { Subjects.Check("""{"nationalAsylumSeekerServiceNumber":"241312349","lastName":"Khan","dateOfBirth":"1990-01-01"}"""), "subject.nationalAsylumSeekerServiceNumber" },
        { Subjects.Check("""{"nationalInsuranceNumber":"AB123456C","nationalAsylumSeekerServiceNumber":"240712349","lastName":"Smith","dateOfBirth":"1990-01-01"}"""), "subject.nationalAsylumSeekerServiceNumber" },
        { Subjects.Check("""{"lastName":"Smith","dateOfBirth":"1990-01-01"}"""), "subject.nationalInsuranceNumber" },
        { Subjects.Check("""{"nationalInsuranceNumber":"AB123456C","lastName":"Sm1th","dateOfBirth":"1990-01-01"}"""), "subject.lastName" },
        { Subjects.Check("""{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"1990-02-30"}"""), "subject.dateOfBirth" },
        { Subjects.Check("""{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"2999-01-01"}"""), "subject.dateOfBirth" },
        { Subjects.Check("""{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"1899-12-31"}"""), "subject.dateOfBirth" },
        { Subjects.Check(Subjects.Smith, scheme: "school-uniform-grant"), "scheme" },
        { Subjects.Check(Subjects.Smith, basis: "vital-interests"), "lawfulBasis" },
        { Subjects.Check(Subjects.Smith, caseReference: ""), "caseReference" },
        { Subjects.Check(Subjects.Smith, caseReference: new string('x', 65)), "caseReference" },
        { """{"scheme":"free-school-meals","lawfulBasis":"public-task","caseReference":"x"}""", "subject" },
        { """{"scheme":"free-school-meals","lawfulBasis":"public-task","caseReference":"x","subject":{},"notes":"hello"}""", "notes" },
        { """{"scheme":"free-school-meals","lawfulBasis":"public-task","caseReference":"x","subject":{"nino":"AB123456C"}}""", "subject.nino" },
        { """{"scheme":["free-school-meals"]}""", "scheme" },
        { """{"scheme":"free-school-meals",""", "body" },
        { """null""", "body" },
        { """ """, "body" },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task Check_WithAnInvalidBody_Answers400NamingTheField(string body, string field)
    {
        var token = await sandbox.TokenAsync();

        using var response = await sandbox.PostCheckAsync(token, body);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        problem.RootElement.GetProperty("type").GetString().Should().StartWith(CheckProblems.TypePrefix);
        problem.RootElement.GetProperty("errors").TryGetProperty(field, out var messages).Should().BeTrue(problem.RootElement.ToString());
        messages.GetArrayLength().Should().BeGreaterThan(0);
    }

    [Fact]
    public async Task Check_WithABodyOver16KiB_Answers413()
    {
        var token = await sandbox.TokenAsync();
        var huge = Subjects.Check(Subjects.Smith, caseReference: "x").Replace("\"x\"", $"\"{new string('x', 17 * 1024)}\"", StringComparison.Ordinal);

        using var response = await sandbox.PostCheckAsync(token, huge);

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
    }

    [Fact]
    public async Task Check_WithAChunkedBodyOver16KiB_Answers413()
    {
        var token = await sandbox.TokenAsync();
        var huge = Subjects.Check(Subjects.Smith, caseReference: new string('x', 17 * 1024));
        using var request = new HttpRequestMessage(HttpMethod.Post, sandbox.Gateway("/v1/checks"))
        {
            Content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(huge))),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.TransferEncodingChunked = true;
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);

        using var response = await sandbox.Http.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/xml")]
    public async Task Check_WithABodyThatIsNotJson_Answers415(string contentType)
    {
        var token = await sandbox.TokenAsync();

        using var response = await sandbox.PostCheckAsync(token, Subjects.Check(Subjects.Smith), contentType);

        response.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
    }

    [Theory]
    [InlineData("camden", "free-school-meals", "public-task", "deny:lawful-basis-not-permitted")]
    [InlineData("leeds", "council-tax-support", "public-task", "deny:lawful-basis-not-permitted")]
    [InlineData("camden", "council-tax-support", "consent", "deny:no-permission")]
    [InlineData("camden", "free-school-meals", "consent", "deny:consent-not-presented")]
    public async Task Check_TheTrustFrameworkDoesNotPermit_Answers403NamingTheRule(string council, string scheme, string basis, string rule)
    {
        var token = await sandbox.TokenAsync(council);

        using var response = await sandbox.PostCheckAsync(token, Subjects.Check(Subjects.Smith, scheme, basis));

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        problem.RootElement.GetProperty("rule").GetString().Should().Be(rule);
        (await AuditRowsAsync("decision = 'deny' AND decision_rule = $rule AND council_id = $council", ("$rule", rule), ("$council", council)))
            .Should().BeGreaterThan(0, "a denied check is recorded too");
    }

    [Fact]
    public async Task GetCheck_ByTheCouncilThatMadeIt_ReturnsTheStoredAnswer_AndAnotherCouncilGets404()
    {
        var leeds = await sandbox.TokenAsync("leeds");
        var camden = await sandbox.TokenAsync("camden");
        var answer = await CheckAsync(leeds, Subjects.Check(Subjects.Taylor));
        var checkId = answer.GetProperty("checkId").GetString()!;

        using var own = await sandbox.GetCheckAsync(leeds, checkId);
        using var other = await sandbox.GetCheckAsync(camden, checkId);
        using var unknown = await sandbox.GetCheckAsync(leeds, Guid.NewGuid().ToString());
        using var malformed = await sandbox.GetCheckAsync(leeds, "1 OR 1=1");

        own.StatusCode.Should().Be(HttpStatusCode.OK);
        using var stored = JsonDocument.Parse(await own.Content.ReadAsStringAsync());
        stored.RootElement.ToString().Should().Be(answer.ToString());
        other.StatusCode.Should().Be(HttpStatusCode.NotFound);
        unknown.StatusCode.Should().Be(HttpStatusCode.NotFound);
        malformed.StatusCode.Should().Be(HttpStatusCode.NotFound);
        other.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
    }

    [Fact]
    public async Task Check_WhenAProviderIsOut_IsUndetermined_TheBreakerOpens_AndItRecovers()
    {
        var token = await sandbox.TokenAsync();
        await sandbox.SetFaultsAsync("dwp", new { outage = true });

        // Smith is known only to DWP: with DWP out the answer must be undetermined, never not-eligible. The breaker
        // opens once failures are half of DWP's recent calls; earlier tests' successes count too, so keep asking
        // (a bounded number of times) until the audit trail shows a call refused by the open circuit.
        var opened = false;
        for (var i = 0; i < 80 && !opened; i++)
        {
            var answer = await CheckAsync(token, Subjects.Check(Subjects.Smith, caseReference: $"OUTAGE-{i}"));
            answer.GetProperty("outcome").GetString().Should().Be("undetermined");
            answer.GetProperty("servedFrom").GetString().Should().Be("live", "an undetermined answer is never cached");
            opened = await AuditRowsAsync("case_reference = $case AND provider_calls LIKE '%\"failureReason\":\"circuit open\"%'", ("$case", $"OUTAGE-{i}")) == 1;
        }

        opened.Should().BeTrue("repeated failures must open DWP's breaker so later checks fail fast");
        var failFast = System.Diagnostics.Stopwatch.StartNew();
        (await CheckAsync(token, Subjects.Check(Subjects.Smith, caseReference: "OUTAGE-FAST"))).GetProperty("outcome").GetString().Should().Be("undetermined");
        failFast.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(1), "with the circuit open DWP is not called, not even once");

        await sandbox.ResetFaultsAsync();
        var recovered = await EventuallyAsync(async () =>
            (await CheckAsync(token, Subjects.Check(Subjects.Smith, caseReference: "RECOVERED"))).GetProperty("outcome").GetString() == "eligible",
            TimeSpan.FromSeconds(60));
        recovered.Should().BeTrue("the breaker closes again once DWP answers");
    }

    [Fact]
    public async Task Check_WhenAProviderTimesOut_IsUndeterminedWithinTheTotalTimeout()
    {
        var token = await sandbox.TokenAsync();
        await sandbox.SetFaultsAsync("hmrc", new { timeoutRate = 1.0, timeoutHoldMilliseconds = 30000 });
        var started = System.Diagnostics.Stopwatch.StartNew();

        // Taylor is known only to HMRC.
        var answer = await CheckAsync(token, Subjects.Check(Subjects.Taylor, caseReference: "TIMEOUT"));

        answer.GetProperty("outcome").GetString().Should().Be("undetermined");
        started.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10), "the sandbox's HMRC total timeout is 5 s");
        (await AuditRowsAsync("case_reference = 'TIMEOUT' AND provider_calls LIKE '%\"failureReason\":\"timeout\"%'")).Should().Be(1);
    }

    [Fact]
    public async Task Check_WhenRedisStops_KeepsAnsweringLive_AndCacheHitsResumeWhenItReturns()
    {
        var token = await sandbox.TokenAsync();
        (await CheckAsync(token, Subjects.Check(Subjects.Jones))).GetProperty("servedFrom").GetString().Should().Be("live");
        (await CheckAsync(token, Subjects.Check(Subjects.Jones))).GetProperty("servedFrom").GetString().Should().Be("cache");

        await sandbox.Redis.StopAsync();
        for (var i = 0; i < 5; i++)
        {
            var answer = await CheckAsync(token, Subjects.Check(Subjects.Jones, caseReference: $"REDIS-DOWN-{i}"));
            answer.GetProperty("outcome").GetString().Should().Be("not-eligible");
            answer.GetProperty("servedFrom").GetString().Should().Be("live");
        }

        await sandbox.Redis.StartAsync();
        var returned = System.Diagnostics.Stopwatch.StartNew();
        var hits = await EventuallyAsync(async () =>
            (await CheckAsync(token, Subjects.Check(Subjects.Jones, caseReference: "REDIS-BACK"))).GetProperty("servedFrom").GetString() == "cache",
            TimeSpan.FromSeconds(10));

        hits.Should().BeTrue($"cache hits must resume within 10 s of Redis returning (waited {returned.Elapsed.TotalSeconds:F1} s)");
    }

    [Fact]
    public async Task Check_WhenTheAuditStoreCannotCommit_Answers503AndReleasesNothing()
    {
        var token = await sandbox.TokenAsync();
        await using (var blocker = new SqliteConnection($"Data Source={sandbox.AuditDatabase};Pooling=False"))
        {
            await blocker.OpenAsync();
            await using (var lockIt = blocker.CreateCommand())
            {
                lockIt.CommandText = "PRAGMA busy_timeout = 0; BEGIN EXCLUSIVE;";
                await lockIt.ExecuteNonQueryAsync();
            }

            using var refused = await sandbox.PostCheckAsync(token, Subjects.Check(Subjects.Smith, caseReference: "AUDIT-DOWN"));

            refused.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            var body = await refused.Content.ReadAsStringAsync();
            body.Should().Contain(CheckProblems.AuditUnavailableType).And.NotContain("eligible");
            await using var rollback = blocker.CreateCommand();
            rollback.CommandText = "ROLLBACK;";
            await rollback.ExecuteNonQueryAsync();
        }

        (await AuditRowsAsync("case_reference = 'AUDIT-DOWN'")).Should().Be(0);
        var after = await CheckAsync(token, Subjects.Check(Subjects.Smith, caseReference: "AUDIT-BACK"));
        after.GetProperty("outcome").GetString().Should().Be("eligible");
    }

    [Fact]
    public async Task TokenIssuance_IsRecorded_AndNoTokenIsReleasedWhenTheAuditLogCannotCommit()
    {
        var before = await AuditRowsAsync("event_type = 'token.issued' AND client_id = 'camden'");
        var issued = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(await sandbox.TokenAsync("camden"));
        (await AuditRowsAsync("event_type = 'token.issued' AND client_id = 'camden'")).Should().Be(before + 1);
        (await AuditRowsAsync(
                "event_type = 'token.issued' AND client_id = 'camden' AND council_id = 'camden' AND consent_id IS NULL "
                + "AND decision_rule = 'token:client_credentials/client_secret_basic' "
                + "AND json_extract(released, '$.tokenId') = $jti AND json_extract(released, '$.scope') = $scope AND json_extract(released, '$.expiresAt') = $exp",
                ("$jti", issued.Id),
                ("$scope", issued.GetPayloadValue<string>("scope")),
                ("$exp", issued.ValidTo.ToString("yyyy-MM-dd'T'HH:mm:ss'.0000000Z'", System.Globalization.CultureInfo.InvariantCulture))))
            .Should().Be(1, "the record names the token by its jti, with its scope and expiry, and never holds the token");
        (await AuditRowsAsync("event_type = 'token.issued' AND released LIKE $token", ("$token", "%" + issued.EncodedSignature + "%"))).Should().Be(0);

        await using var blocker = new SqliteConnection($"Data Source={sandbox.AuditDatabase};Pooling=False");
        await blocker.OpenAsync();
        await using (var lockIt = blocker.CreateCommand())
        {
            lockIt.CommandText = "PRAGMA busy_timeout = 0; BEGIN EXCLUSIVE;";
            await lockIt.ExecuteNonQueryAsync();
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, sandbox.Gateway("/connect/token"))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("camden:camden-sandbox-secret")));
        using var refused = await sandbox.Http.SendAsync(request);

        refused.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await refused.Content.ReadAsStringAsync()).Should().Contain("temporarily_unavailable").And.NotContain("access_token");
    }

    [Fact]
    public async Task EveryAnsweredCheck_UnderConcurrency_HasExactlyItsOwnAuditRecord()
    {
        var token = await sandbox.TokenAsync();
        var bodies = Enumerable.Range(0, 40).Select(i => Subjects.Check(Subjects.Brown, caseReference: $"CONCURRENT-{i}"));

        var answers = await Task.WhenAll(bodies.Select(body => CheckAsync(token, body)));

        answers.Select(a => a.GetProperty("auditSequence").GetInt64()).Should().OnlyHaveUniqueItems();
        foreach (var answer in answers)
        {
            var id = answer.GetProperty("checkId").GetString()!;
            (await AuditRowsAsync("check_id = $id AND sequence = $sequence", ("$id", id), ("$sequence", answer.GetProperty("auditSequence").GetInt64())))
                .Should().Be(1);
        }

        (await AuditRowsAsync("case_reference LIKE 'CONCURRENT-%'")).Should().Be(40);
    }

    [Fact]
    public async Task AfterARunOfChecks_NeitherRedisNorTheLogsHoldAnyPersonalData()
    {
        var token = await sandbox.TokenAsync();
        foreach (var subject in new[] { Subjects.Smith, Subjects.Jones, Subjects.Taylor, Subjects.Brown, Subjects.Khan })
        {
            await CheckAsync(token, Subjects.Check(subject));
            await CheckAsync(token, Subjects.Check(subject));
        }

        using var redis = await ConnectionMultiplexer.ConnectAsync($"{sandbox.Redis.Endpoint},allowAdmin=true");
        var server = redis.GetServer(sandbox.Redis.Endpoint);
        var keys = server.Keys(pattern: "*").ToList();
        keys.Should().NotBeEmpty("the checks above were cached");
        foreach (var key in keys)
        {
            var value = (byte[]?)await redis.GetDatabase().StringGetAsync(key) ?? [];
            var text = $"{(string?)key} {System.Text.Encoding.UTF8.GetString(value)} {System.Text.Encoding.Latin1.GetString(value)}";
            foreach (var personal in Subjects.PersonalData)
            {
                text.Should().NotContainEquivalentOf(personal, $"Redis key {key} must hold no personal data");
            }
        }

        sandbox.Logs.Lines.Should().NotBeEmpty();
        foreach (var line in sandbox.Logs.Lines)
        {
            foreach (var personal in Subjects.PersonalData)
            {
                line.Should().NotContainEquivalentOf(personal);
            }
        }
    }

    private async Task<JsonElement> CheckAsync(string token, string body)
    {
        using var response = await sandbox.PostCheckAsync(token, body);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, text);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        using var json = JsonDocument.Parse(text);
        return json.RootElement.Clone();
    }

    private async Task<long> AuditRowsAsync(string where, params (string Name, object Value)[] parameters)
    {
        await using var connection = new SqliteConnection($"Data Source={sandbox.AuditDatabase};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM audit_records WHERE {where}";
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task FlushCacheAsync()
    {
        if (!await sandbox.Redis.AnswersPingAsync())
        {
            await sandbox.Redis.StartAsync();
        }

        using var redis = await ConnectionMultiplexer.ConnectAsync($"{sandbox.Redis.Endpoint},allowAdmin=true");
        await redis.GetServer(sandbox.Redis.Endpoint).FlushAllDatabasesAsync();
    }

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan within)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < within)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(250);
        }

        return false;
    }
}
