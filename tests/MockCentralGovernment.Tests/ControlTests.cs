using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using EligibilityGateway.Testing;

namespace MockCentralGovernment.Tests;

/// <summary>Latency, errors, timeouts and outages are controllable per provider at runtime, and reset.</summary>
public sealed class ControlTests(MockGovernmentFixture mock) : IClassFixture<MockGovernmentFixture>, IAsyncLifetime
{
    private const string Control = "/_control/providers";

    private readonly HttpClient _control = mock.Client();
    private readonly HttpClient _dwp = mock.Client(MockGovernmentFixture.DwpCredential);
    private readonly HttpClient _hmrc = mock.Client(MockGovernmentFixture.HmrcCredential);

    public Task InitializeAsync() => ResetAllAsync();

    public Task DisposeAsync() => ResetAllAsync();

    [Fact]
    public async Task Settings_ByDefault_InjectNoFaults()
    {
        using var response = await _control.GetAsync(Control);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var providers = (await response.JsonAsync()).GetProperty("providers").EnumerateArray().ToList();
        providers.Select(p => p.GetProperty("provider").GetString()).Should().Equal("dwp", "hmrc", "home-office");
        providers.Should().OnlyContain(p =>
            p.GetProperty("latencyMilliseconds").GetInt32() == 0 && p.GetProperty("errorRate").GetDouble() == 0 &&
            p.GetProperty("timeoutRate").GetDouble() == 0 && !p.GetProperty("outage").GetBoolean());
    }

    [Fact]
    public async Task Latency_WhenSet_DelaysEveryAnswerByAtLeastThatMuch_AndOnlyForThatProvider()
    {
        await PutAsync("dwp", new { latencyMilliseconds = 300 });

        var dwp = await TimeAsync(() => SmithAsync());
        var hmrc = await TimeAsync(() => _hmrc.TaxCreditsAsync("EH345678B", "Taylor", "1978-11-30"));

        dwp.Status.Should().Be(HttpStatusCode.OK);
        dwp.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(300));
        hmrc.Status.Should().Be(HttpStatusCode.OK);
        hmrc.Elapsed.Should().BeLessThan(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task ConcurrencyMeter_ReportsTheMeanDurationOfEndedCalls_LatencyIncluded_AndResetsIt()
    {
        (await _control.DeleteAsync("/_control/concurrency")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        await PutAsync("dwp", new { latencyMilliseconds = 100 });

        var first = await TimeAsync(() => SmithAsync());
        var second = await TimeAsync(() => SmithAsync());
        first.Status.Should().Be(HttpStatusCode.OK);
        second.Status.Should().Be(HttpStatusCode.OK);

        var dwp = await ConcurrencyAsync("dwp");
        dwp.GetProperty("calls").GetInt64().Should().Be(2);
        var mean = dwp.GetProperty("meanCallMilliseconds").GetDouble();
        mean.Should().BeGreaterThanOrEqualTo(100, "the set latency is part of every call")
            .And.BeLessThanOrEqualTo(Math.Max(first.Elapsed.TotalMilliseconds, second.Elapsed.TotalMilliseconds), "the caller waited at least that long");
        (await ConcurrencyAsync("hmrc")).GetProperty("meanCallMilliseconds").GetDouble().Should().Be(0, "no call to HMRC ended");

        (await _control.DeleteAsync("/_control/concurrency")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await ConcurrencyAsync("dwp")).GetProperty("meanCallMilliseconds").GetDouble().Should().Be(0, "the reset starts the mean from zero");
    }

    private async Task<System.Text.Json.JsonElement> ConcurrencyAsync(string provider)
    {
        using var response = await _control.GetAsync("/_control/concurrency");
        return (await response.JsonAsync()).GetProperty("providers").EnumerateArray().Single(p => p.GetProperty("provider").GetString() == provider);
    }

    [Fact]
    public async Task Latency_AfterReset_IsGone()
    {
        await PutAsync("dwp", new { latencyMilliseconds = 400 });
        using (var reset = await _control.DeleteAsync($"{Control}/dwp"))
        {
            reset.StatusCode.Should().Be(HttpStatusCode.OK);
            (await reset.JsonAsync()).GetProperty("latencyMilliseconds").GetInt32().Should().Be(0);
        }

        var after = await TimeAsync(() => SmithAsync());

        after.Status.Should().Be(HttpStatusCode.OK);
        after.Elapsed.Should().BeLessThan(TimeSpan.FromMilliseconds(400));
    }

    [Fact]
    public async Task Jitter_WhenSet_AddsToTheFixedLatency()
    {
        await PutAsync("dwp", new { latencyMilliseconds = 50, jitterMilliseconds = 100 });

        for (var i = 0; i < 5; i++)
        {
            var call = await TimeAsync(() => SmithAsync());
            call.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(50));
        }
    }

    [Fact]
    public async Task ErrorRate_OfOne_FailsEveryCallWith500Or503AndRetryAfterOn503()
    {
        await PutAsync("dwp", new { errorRate = 1.0 });

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 40; i++)
        {
            using var response = await SmithAsync();
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                response.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(1));
            }
        }

        statuses.Should().OnlyContain(s => s == HttpStatusCode.InternalServerError || s == HttpStatusCode.ServiceUnavailable);
        statuses.Should().Contain(HttpStatusCode.InternalServerError).And.Contain(HttpStatusCode.ServiceUnavailable);
    }

    [Fact]
    public async Task ErrorRate_OfZero_FailsNothing()
    {
        await PutAsync("dwp", new { errorRate = 0.0, latencyMilliseconds = 0 });

        for (var i = 0; i < 40; i++)
        {
            using var response = await SmithAsync();
            response.StatusCode.Should().Be(HttpStatusCode.OK);
        }
    }

    [Fact]
    public async Task ErrorRate_OfAHalf_FailsSomeCallsAndNotOthers()
    {
        await PutAsync("hmrc", new { errorRate = 0.5 });

        var ok = 0;
        for (var i = 0; i < 200; i++)
        {
            using var response = await _hmrc.TaxCreditsAsync("EH345678B", "Taylor", "1978-11-30");
            ok += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
        }

        ok.Should().BeInRange(60, 140);
    }

    [Fact]
    public async Task TimeoutRate_OfOne_HoldsTheRequestThenAnswers504()
    {
        await PutAsync("dwp", new { timeoutRate = 1.0, timeoutHoldMilliseconds = 300 });

        var call = await TimeAsync(() => SmithAsync());

        call.Status.Should().Be(HttpStatusCode.GatewayTimeout);
        call.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task TimeoutRate_OfOne_HangsUntilTheClientGivesUp_AndTheMockStaysHealthy()
    {
        await PutAsync("dwp", new { timeoutRate = 1.0, timeoutHoldMilliseconds = 60_000 });
        using var impatient = mock.Client(MockGovernmentFixture.DwpCredential);
        impatient.Timeout = TimeSpan.FromMilliseconds(300);

        var call = () => impatient.MatchCitizenAsync("AB123456C", "Smith", "1990-01-01");

        await call.Should().ThrowAsync<TaskCanceledException>();
        await DeleteAsync("dwp");
        using var after = await SmithAsync();
        after.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Outage_WhenSet_Answers503AtOnceEvenBeforeCredentials_AndResetRestoresService()
    {
        await PatchAsync("dwp", new { outage = true });

        using var withCredential = await SmithAsync();
        using var withoutCredential = await mock.Client().MatchCitizenAsync("AB123456C", "Smith", "1990-01-01");
        using var otherProvider = await _hmrc.TaxCreditsAsync("EH345678B", "Taylor", "1978-11-30");

        foreach (var response in new[] { withCredential, withoutCredential })
        {
            response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            response.Headers.RetryAfter.Should().BeNull();
            (await response.JsonAsync()).GetProperty("type").GetString().Should().Be("urn:mock-central-government:problem:outage");
        }

        otherProvider.StatusCode.Should().Be(HttpStatusCode.OK);
        await DeleteAsync("dwp");
        using var after = await SmithAsync();
        after.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Patch_ChangesOnlyTheFieldsItNames_AndPutReplacesTheRest()
    {
        await PutAsync("home-office", new { latencyMilliseconds = 10, errorRate = 0.25 });

        var patched = await PatchAsync("home-office", new { timeoutRate = 0.1 });
        patched.GetProperty("latencyMilliseconds").GetInt32().Should().Be(10);
        patched.GetProperty("errorRate").GetDouble().Should().Be(0.25);
        patched.GetProperty("timeoutRate").GetDouble().Should().Be(0.1);

        var replaced = await PutAsync("home-office", new { jitterMilliseconds = 5 });
        replaced.GetProperty("latencyMilliseconds").GetInt32().Should().Be(0);
        replaced.GetProperty("errorRate").GetDouble().Should().Be(0);
        replaced.GetProperty("jitterMilliseconds").GetInt32().Should().Be(5);

        using var shown = await _control.GetAsync($"{Control}/home-office");
        (await shown.JsonAsync()).GetProperty("jitterMilliseconds").GetInt32().Should().Be(5);
    }

    [Fact]
    public async Task ResetAll_RestoresEveryProvider()
    {
        await PutAsync("dwp", new { outage = true });
        await PutAsync("hmrc", new { errorRate = 1.0 });

        using var reset = await _control.DeleteAsync(Control);

        reset.StatusCode.Should().Be(HttpStatusCode.OK);
        using var dwp = await SmithAsync();
        using var hmrc = await _hmrc.TaxCreditsAsync("EH345678B", "Taylor", "1978-11-30");
        dwp.StatusCode.Should().Be(HttpStatusCode.OK);
        hmrc.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("""{"errorRate":1.5}""", "errorRate")]
    [InlineData("""{"timeoutRate":-0.1}""", "timeoutRate")]
    [InlineData("""{"latencyMilliseconds":-1}""", "latencyMilliseconds")]
    [InlineData("""{"jitterMilliseconds":600001}""", "jitterMilliseconds")]
    [InlineData("""{"latencyMilliseconds":"slow"}""", "latencyMilliseconds")]
    [InlineData("""{"latencyMilliseconds":1.5}""", "latencyMilliseconds")]
    [InlineData("""{"outage":"yes"}""", "outage")]
    [InlineData("""{"errorRatio":0.5}""", "errorRatio")]
    public async Task Change_WithAnInvalidValue_Answers400NamingTheFieldAndChangesNothing(string body, string field)
    {
        using var response = await _control.PatchAsync($"{Control}/dwp", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.JsonAsync()).GetProperty("errors").TryGetProperty(field, out _).Should().BeTrue();
        using var shown = await _control.GetAsync($"{Control}/dwp");
        var settings = await shown.JsonAsync();
        settings.GetProperty("errorRate").GetDouble().Should().Be(0);
        settings.GetProperty("latencyMilliseconds").GetInt32().Should().Be(0);
    }

    [Fact]
    public async Task Control_ForAnUnknownProvider_Answers404()
    {
        using var response = await _control.GetAsync($"{Control}/dvla");

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await response.JsonAsync()).GetProperty("type").GetString().Should().Be("urn:mock-central-government:problem:unknown-provider");
    }

    [Fact]
    public async Task Changes_MadeConcurrently_AreEachAppliedWhole()
    {
        // Writers alternate between two complete settings; a reader must only ever see one of them, never a mix.
        var writers = Enumerable.Range(0, 40).Select(i => i % 2 == 0
            ? PutAsync("hmrc", new { latencyMilliseconds = 0, jitterMilliseconds = 0, errorRate = 0.0 })
            : PutAsync("hmrc", new { latencyMilliseconds = 0, jitterMilliseconds = 0, errorRate = 0.0, timeoutHoldMilliseconds = 1_000 }));
        var readers = Enumerable.Range(0, 40).Select(async _ =>
        {
            using var response = await _control.GetAsync($"{Control}/hmrc");
            return await response.JsonAsync();
        });

        await Task.WhenAll(writers);
        var seen = await Task.WhenAll(readers);

        seen.Select(s => s.GetProperty("timeoutHoldMilliseconds").GetInt32()).Should().OnlyContain(hold => hold == 1_000 || hold == 30_000);
    }

    [Fact]
    public async Task Control_WhenACredentialIsConfigured_RequiresIt()
    {
        await using var app = MockGovernmentFixture.Build(new Dictionary<string, string?> { ["MockCentralGovernment:Control:Credential"] = "control-credential" });
        var baseAddress = await app.StartOnFreePortAsync();
        using var handler = new ContractCheckingHandler(ProviderContracts.Instance);
        using var client = new HttpClient(handler) { BaseAddress = baseAddress };

        using var anonymous = await client.GetAsync(Control);
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "control-credential");
        using var authorised = await client.GetAsync(Control);

        anonymous.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        authorised.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    private Task<HttpResponseMessage> SmithAsync() => _dwp.MatchCitizenAsync("AB123456C", "Smith", "1990-01-01");

    private async Task<System.Text.Json.JsonElement> PutAsync(string provider, object settings)
    {
        using var response = await _control.PutAsJsonAsync($"{Control}/{provider}", settings);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return await response.JsonAsync();
    }

    private async Task<System.Text.Json.JsonElement> PatchAsync(string provider, object settings)
    {
        using var response = await _control.PatchAsJsonAsync($"{Control}/{provider}", settings);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return await response.JsonAsync();
    }

    private async Task DeleteAsync(string provider)
    {
        using var response = await _control.DeleteAsync($"{Control}/{provider}");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    private async Task ResetAllAsync()
    {
        using var response = await _control.DeleteAsync(Control);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    private static async Task<(HttpStatusCode Status, TimeSpan Elapsed)> TimeAsync(Func<Task<HttpResponseMessage>> call)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await call();
        return (response.StatusCode, Stopwatch.GetElapsedTime(started));
    }
}
