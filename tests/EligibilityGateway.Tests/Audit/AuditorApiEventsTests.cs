using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Tests.EndToEnd;

namespace EligibilityGateway.Tests.Audit;

/// <summary><c>GET /v1/audit/events</c> and <c>POST /v1/audit/subject-search</c> through real HTTP against the sandbox.</summary>
public sealed class AuditorApiEventsTests(SandboxFixture sandbox) : IClassFixture<SandboxFixture>, IAsyncLifetime
{
    private const string Smith = """{"nationalInsuranceNumber":"ab 12 34 56 c","dateOfBirth":"1990-01-01"}""";

    public async Task InitializeAsync()
    {
        // The same history for every test: Leeds checks Smith, Jones and Taylor under public-task (two schemes' worth of
        // outcomes), and Camden is refused a public-task check it has no permission for.
        var leeds = await sandbox.TokenAsync("leeds");
        foreach (var subject in new[] { Subjects.Smith, Subjects.Jones, Subjects.Taylor })
        {
            using var response = await sandbox.PostCheckAsync(leeds, Subjects.Check(subject));
            response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        }

        using var camden = await sandbox.PostCheckAsync(await sandbox.TokenAsync("camden"), Subjects.Check(Subjects.Smith));
        camden.StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Events_ReturnEveryStoredFieldAndTheHash_NewestFirst()
    {
        var (events, _) = await sandbox.EventsAsync(await sandbox.AuditorTokenAsync(), "?eventType=check&limit=500");

        events.Select(e => e.Sequence()).Should().BeInDescendingOrder().And.OnlyHaveUniqueItems();
        var check = events.First(e => e.Text("decision") == "allow");
        foreach (var field in new[]
        {
            "sequence", "formatVersion", "recordedAt", "eventType", "councilId", "clientId", "schemeId", "purpose", "lawfulBasis",
            "consentId", "caseReference", "decision", "decisionRule", "outcome", "servedFrom", "providerCalls", "traceId",
            "subjectReference", "checkId", "checkedAt", "validUntil", "released", "frameworkId", "frameworkVersion", "chainVersion", "hash",
        })
        {
            check.TryGetProperty(field, out _).Should().BeTrue($"the event carries {field}");
        }

        check.Text("hash").Should().MatchRegex("^[0-9a-f]{64}$");
        check.Text("subjectReference").Should().StartWith("sr1:");
        check.GetProperty("providerCalls").ValueKind.Should().Be(JsonValueKind.Array);
    }

    [Theory]
    [InlineData("council", "leeds", "councilId")]
    [InlineData("council", "camden", "councilId")]
    [InlineData("scheme", "free-school-meals", "schemeId")]
    [InlineData("outcome", "eligible", "outcome")]
    [InlineData("outcome", "not-eligible", "outcome")]
    [InlineData("decision", "allow", "decision")]
    [InlineData("decision", "deny", "decision")]
    [InlineData("lawfulBasis", "public-task", "lawfulBasis")]
    [InlineData("eventType", "check", "eventType")]
    [InlineData("eventType", "token.issued", "eventType")]
    public async Task EventsFilter_ReturnsOnlyEventsWithThatValue_AndSomeOfThem(string parameter, string value, string field)
    {
        var token = await sandbox.AuditorTokenAsync();
        var all = await sandbox.AllEventsAsync(token, "?limit=500");
        var filtered = await sandbox.AllEventsAsync(token, $"?{parameter}={Uri.EscapeDataString(value)}&limit=7");

        filtered.Should().NotBeEmpty();
        filtered.Should().OnlyContain(e => e.Text(field) == value);
        filtered.Select(e => e.Sequence()).Should().BeEquivalentTo(
            all.Where(e => e.Text(field) == value && e.Sequence() <= filtered.Max(f => f.Sequence())).Select(e => e.Sequence()),
            "the filter selects exactly the matching events of the whole log");
    }

    [Fact]
    public async Task EventsConsentIdFilter_ReturnsThatConsentsEvents()
    {
        using var create = new HttpRequestMessage(HttpMethod.Post, sandbox.Gateway("/v1/consents"))
        {
            Content = new StringContent("""{"scheme":"free-school-meals","caseReference":"FSM-AUDIT-1"}""", Encoding.UTF8, "application/json"),
        };
        create.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await sandbox.TokenAsync("leeds", "consents.manage"));
        using var created = await sandbox.Http.SendAsync(create);
        created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        using var consent = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var consentId = consent.RootElement.GetProperty("consentId").GetString()!;

        var (events, _) = await sandbox.EventsAsync(await sandbox.AuditorTokenAsync(), $"?consentId={consentId}");

        events.Should().ContainSingle().Which.Text("eventType").Should().Be("consent.created");
        events[0].Text("consentId").Should().Be(consentId);
    }

    [Fact]
    public async Task EventsFromAndTo_BoundRecordedAt_FromInclusiveToExclusive()
    {
        var token = await sandbox.AuditorTokenAsync();
        var all = await sandbox.AllEventsAsync(token, "?limit=500&order=asc");
        var pivot = all[all.Count / 2].Text("recordedAt")!;

        var from = await sandbox.AllEventsAsync(token, $"?from={pivot}&limit=500");
        var to = await sandbox.AllEventsAsync(token, $"?to={pivot}&limit=500");

        from.Should().NotBeEmpty().And.OnlyContain(e => string.CompareOrdinal(e.Text("recordedAt"), pivot) >= 0);
        to.Should().NotBeEmpty().And.OnlyContain(e => string.CompareOrdinal(e.Text("recordedAt"), pivot) < 0);
        (from.Count + to.Count).Should().BeGreaterThanOrEqualTo(all.Count, "the two ranges cover the log without a gap");
    }

    [Fact]
    public async Task EventsPaging_WhileChecksAreAppended_WalksEveryRecordOnceWithoutGaps()
    {
        var token = await sandbox.AuditorTokenAsync();
        var (first, _) = await sandbox.EventsAsync(token, "?limit=1");
        var head = first[0].Sequence();
        var leeds = await sandbox.TokenAsync("leeds");

        using var stop = new CancellationTokenSource();
        var appender = Task.Run(async () =>
        {
            var made = 0;
            while (!stop.IsCancellationRequested)
            {
                using var response = await sandbox.PostCheckAsync(leeds, Subjects.Check(Subjects.Jones, caseReference: $"PAGING-{made++}"));
                response.StatusCode.Should().Be(HttpStatusCode.OK);
            }

            return made;
        });

        // Newest first from a head taken before the walk: the walk must cover head..1 exactly, however much is appended.
        var seen = new List<long>();
        var (events, next) = await sandbox.EventsAsync(token, "?limit=3");
        seen.AddRange(events.Select(e => e.Sequence()));
        while (next is not null)
        {
            await Task.Delay(5);
            (events, next) = await sandbox.EventsAsync(token, "?limit=3&cursor=" + Uri.EscapeDataString(next));
            seen.AddRange(events.Select(e => e.Sequence()));
        }

        await stop.CancelAsync();
        (await appender).Should().BePositive();
        seen.Should().OnlyHaveUniqueItems().And.BeInDescendingOrder();
        var top = seen[0];
        seen.Should().Equal(Enumerable.Range(1, (int)top).Select(i => (long)(top + 1 - i)), "no record from the first page's top down to 1 is skipped");
        top.Should().BeGreaterThanOrEqualTo(head);
    }

    [Fact]
    public async Task EventsPaging_Ascending_WalksOldestFirstAndEndsWithNullNext()
    {
        var token = await sandbox.AuditorTokenAsync();
        var walked = await sandbox.AllEventsAsync(token, "?order=asc&limit=2&council=leeds");

        walked.Select(e => e.Sequence()).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        walked.Should().NotBeEmpty().And.OnlyContain(e => e.Text("councilId") == "leeds");
    }

    [Fact]
    public async Task LeedsAuditor_SeesOnlyLeedsEvents_NothingOfCamdenAndNothingWithoutACouncil()
    {
        var all = await sandbox.AllEventsAsync(await sandbox.AuditorTokenAsync(), "?limit=500");
        all.Should().Contain(e => e.Text("councilId") == "camden", "Camden's refused check is in the log");
        all.Should().Contain(e => e.Text("councilId") == null, "the trust framework's loading is in the log");

        var leeds = await sandbox.AllEventsAsync(await sandbox.AuditorTokenAsync(AuditorApiClient.LeedsAuditor), "?limit=500");

        leeds.Should().NotBeEmpty().And.OnlyContain(e => e.Text("councilId") == "leeds");
        leeds.Select(e => e.Sequence()).Should().BeEquivalentTo(all.Where(e => e.Text("councilId") == "leeds" && e.Sequence() <= leeds.Max(l => l.Sequence())).Select(e => e.Sequence()));
    }

    [Fact]
    public async Task LeedsAuditor_FilteringOnCamden_IsForbiddenAsOutsideItsScope()
    {
        var token = await sandbox.AuditorTokenAsync(AuditorApiClient.LeedsAuditor);

        using var events = await sandbox.AuditGetAsync(token, "/v1/audit/events?council=camden");
        using var export = await sandbox.AuditGetAsync(token, "/v1/audit/export?council=camden");

        events.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await AuditorApiClient.ProblemTypeAsync(events)).Should().Be("urn:eligibility-gateway:problem:outside-audit-scope");
        export.StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Theory]
    [InlineData("/v1/audit/events")]
    [InlineData("/v1/audit/verify")]
    [InlineData("/v1/audit/checkpoints")]
    [InlineData("/v1/audit/export")]
    public async Task CouncilCheckClient_IsForbiddenEveryAuditorRead(string path)
    {
        using var response = await sandbox.AuditGetAsync(await sandbox.TokenAsync("leeds"), path);
        using var search = await sandbox.SubjectSearchAsync(await sandbox.TokenAsync("leeds"), Smith);

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        search.StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task AuditorRead_WithoutAToken_IsUnauthorized()
    {
        using var response = await sandbox.Http.GetAsync(sandbox.Gateway("/v1/audit/events"));

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("from=yesterday", "from")]
    [InlineData("from=2026-01-01T00:00:00", "from")]
    [InlineData("to=2026-13-01T00:00:00Z", "to")]
    [InlineData("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to")]
    [InlineData("outcome=maybe", "outcome")]
    [InlineData("decision=perhaps", "decision")]
    [InlineData("lawfulBasis=legitimate-interests", "lawfulBasis")]
    [InlineData("eventType=Check!", "eventType")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=501", "limit")]
    [InlineData("limit=ten", "limit")]
    [InlineData("order=sideways", "order")]
    [InlineData("cursor=not-a-cursor", "cursor")]
    [InlineData("cursor=eyJ2IjoyLCJhZnRlciI6MTAsIm9yZGVyIjoiZGVzYyJ9", "cursor")]
    [InlineData("cursor=eyJ2IjoxLCJhZnRlciI6MTAsIm9yZGVyIjoiZGVzYyJ9&order=asc", "cursor")]
    public async Task Events_WithAnInvalidParameter_AnswerBadRequestNamingIt(string query, string parameter)
    {
        using var response = await sandbox.AuditGetAsync(await sandbox.AuditorTokenAsync(), "/v1/audit/events?" + query);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await AuditorApiClient.ErrorFieldsAsync(response)).Should().Equal(parameter);
    }

    [Fact]
    public async Task Export_WithAnUnknownFormat_AnswersBadRequestNamingFormat()
    {
        using var response = await sandbox.AuditGetAsync(await sandbox.AuditorTokenAsync(), "/v1/audit/export?format=xml");

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await AuditorApiClient.ErrorFieldsAsync(response)).Should().Equal("format");
    }

    [Fact]
    public async Task SubjectSearch_FindsSmithsChecksUnderPublicTaskAndNotJonesOrTaylors()
    {
        var token = await sandbox.AuditorTokenAsync();
        var all = await sandbox.AllEventsAsync(token, "?eventType=check&limit=500");

        using var response = await sandbox.SubjectSearchAsync(token, Smith, "?limit=500");
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, text);
        var (found, next) = AuditorApiClient.ReadPage(text);

        next.Should().BeNull();
        found.Should().HaveCountGreaterThanOrEqualTo(2, "Leeds's check and Camden's refused one are about Smith");
        var reference = found[0].Text("subjectReference");
        found.Should().OnlyContain(e => e.Text("subjectReference") == reference);
        found.Should().Contain(e => e.Text("lawfulBasis") == "public-task" && e.Text("councilId") == "leeds" && e.Text("outcome") == "eligible");
        var others = all.Where(e => e.Text("subjectReference") != reference).ToList();
        others.Should().NotBeEmpty("Jones's and Taylor's checks are in the log under other references");
        found.Select(e => e.Sequence()).Should().NotIntersectWith(others.Select(e => e.Sequence()));
    }

    [Fact]
    public async Task SubjectSearch_ByALeedsAuditor_LeavesOutCamdensCheckAboutTheSamePerson()
    {
        using var all = await sandbox.SubjectSearchAsync(await sandbox.AuditorTokenAsync(), Smith);
        using var leeds = await sandbox.SubjectSearchAsync(await sandbox.AuditorTokenAsync(AuditorApiClient.LeedsAuditor), Smith);

        AuditorApiClient.ReadPage(await all.Content.ReadAsStringAsync()).Events.Should().Contain(e => e.Text("councilId") == "camden");
        AuditorApiClient.ReadPage(await leeds.Content.ReadAsStringAsync()).Events.Should().NotBeEmpty().And.OnlyContain(e => e.Text("councilId") == "leeds");
    }

    [Theory]
    [InlineData("Smith")]
    [InlineData("Jones")]
    [InlineData("")]
    public async Task SubjectSearch_WithTheSubjectOfACheckPastedAsItIs_IgnoresLastName_AndFindsThePersonsEvents(string lastName)
    {
        var token = await sandbox.AuditorTokenAsync();
        using var byIdentifier = await sandbox.SubjectSearchAsync(token, Smith, "?limit=500");
        var subject = Subjects.Smith.Replace("\"Smith\"", JsonSerializer.Serialize(lastName), StringComparison.Ordinal);
        subject.Should().Contain("\"lastName\"", "the body is a check's subject, surname included");

        using var pasted = await sandbox.SubjectSearchAsync(token, subject, "?limit=500");

        var text = await pasted.Content.ReadAsStringAsync();
        pasted.StatusCode.Should().Be(HttpStatusCode.OK, text);
        var expected = AuditorApiClient.ReadPage(await byIdentifier.Content.ReadAsStringAsync()).Events.Select(e => e.Sequence()).ToList();
        expected.Should().NotBeEmpty();
        AuditorApiClient.ReadPage(text).Events.Select(e => e.Sequence()).Should().Equal(expected, "the search is by identifier and date of birth, whatever surname is given");
    }

    [Theory]
    [InlineData("""{"nationalInsuranceNumber":"AB123456","dateOfBirth":"1990-01-01"}""", "nationalInsuranceNumber")]
    [InlineData("""{"nationalInsuranceNumber":"AB123456C","dateOfBirth":"01/01/1990"}""", "dateOfBirth")]
    [InlineData("""{"nationalAsylumSeekerServiceNumber":"241312349","dateOfBirth":"1990-01-01"}""", "nationalAsylumSeekerServiceNumber")]
    [InlineData("""{"dateOfBirth":"1990-01-01"}""", "nationalInsuranceNumber")]
    [InlineData("""{"nationalInsuranceNumber":"AB123456C","dateOfBirth":"1990-01-01","surname":"Smith"}""", "surname")]
    public async Task SubjectSearch_WithAnInvalidBody_AnswersBadRequestNamingTheMember(string body, string member)
    {
        using var response = await sandbox.SubjectSearchAsync(await sandbox.AuditorTokenAsync(), body);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await AuditorApiClient.ErrorFieldsAsync(response)).Should().Contain(member);
    }

    [Fact]
    public async Task SubjectSearch_NeverWritesTheIdentifiersToALog()
    {
        using var response = await sandbox.SubjectSearchAsync(await sandbox.AuditorTokenAsync(), Smith);
        response.StatusCode.Should().Be(HttpStatusCode.OK);

        var lines = sandbox.Logs.Lines;
        lines.Should().NotContain(line => line.Contains("AB123456C", StringComparison.OrdinalIgnoreCase) || line.Contains("ab 12 34 56 c", StringComparison.OrdinalIgnoreCase) || line.Contains("1990-01-01", StringComparison.Ordinal));
    }
}
