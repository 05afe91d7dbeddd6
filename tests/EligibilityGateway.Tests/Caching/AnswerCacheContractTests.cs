using System.Collections.Immutable;
using EligibilityGateway.Caching;
using EligibilityGateway.Checks;
using EligibilityGateway.Security;
using EligibilityGateway.Testing;

namespace EligibilityGateway.Tests.Caching;

/// <summary>What every answer cache must do, run against the memory store and against a real Redis.</summary>
public abstract class AnswerCacheContractTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    private CacheUnderTest subject = null!;

    private protected CacheUnderTest Cache => subject;

    public virtual async Task InitializeAsync() => subject = await Create().ReadyAsync();

    public virtual async Task DisposeAsync() => await subject.DisposeAsync();

    /// <summary>A fresh cache over the store under test, with its own key ring.</summary>
    private protected abstract CacheUnderTest Create(KeyRing? keyRing = null);

    /// <summary>Lets <paramref name="duration"/> pass for the store's expiry.</summary>
    private protected abstract Task LetTimePassAsync(TimeSpan duration);

    private protected abstract DateTimeOffset Now { get; }

    private protected abstract string StoreName { get; }

    private CachedAnswer Answer(Outcome outcome = Outcome.Eligible, TimeSpan? validFor = null) =>
        new(outcome, outcome == Outcome.Eligible ? ["dwp", "hmrc"] : [], Now, Now + (validFor ?? TimeSpan.FromHours(24)));

    [Fact]
    public void AddAnswerCache_WithOrWithoutRedis_ChoosesTheStoreUnderTest()
    {
        Cache.Store.Name.Should().Be(StoreName);
    }

    [Fact]
    public async Task Get_WhenNothingWasStored_Misses()
    {
        var answer = await Cache.Cache.GetAsync(Cache.KeyFor(Fixtures.Smith), CancellationToken.None);

        answer.Should().BeNull();
        Cache.Counters.Get(CacheMetrics.LookupsName, "miss").Should().Be(1);
    }

    [Theory]
    [InlineData(nameof(Outcome.Eligible))]
    [InlineData(nameof(Outcome.NotEligible))]
    [InlineData(nameof(Outcome.NotFound))]
    [InlineData(nameof(Outcome.Undetermined))]
    public async Task Get_AfterSet_ReturnsTheAnswerAsWritten(string outcomeName)
    {
        var outcome = Enum.Parse<Outcome>(outcomeName);
        var key = Cache.KeyFor(Fixtures.Smith);
        var written = Answer(outcome) with { CheckedAt = new DateTimeOffset(2026, 11, 22, 11, 0, 0, TimeSpan.FromHours(1)).AddTicks(7) };

        await Cache.Cache.SetAsync(key, written, TimeSpan.FromMinutes(5), CancellationToken.None);
        var read = await Cache.Cache.GetAsync(key, CancellationToken.None);

        read.Should().Be(written);
        read!.ConfirmedBy.Should().Equal(written.ConfirmedBy);
        read.CheckedAt.UtcTicks.Should().Be(written.CheckedAt.UtcTicks);
        Cache.Counters.Get(CacheMetrics.LookupsName, "hit").Should().Be(1);
        Cache.Counters.Get(CacheMetrics.WritesName, "stored").Should().Be(1);
    }

    public static TheoryData<string> OtherAskers => new() { "another council", "another scheme", "a consent", "another consent", "another subject", "the same person by another identifier", "another birth date", "another surname" };

    [Theory]
    [MemberData(nameof(OtherAskers))]
    public async Task Get_ForAnythingButTheSameCouncilSchemeConsentAndSubject_Misses(string other)
    {
        var stored = Cache.Keys.For("leeds", "free-school-meals", "consent-1", Fixtures.Smith);
        await Cache.Cache.SetAsync(stored, Answer(), TimeSpan.FromMinutes(5), CancellationToken.None);
        var key = other switch
        {
            "another council" => Cache.Keys.For("camden", "free-school-meals", "consent-1", Fixtures.Smith),
            "another scheme" => Cache.Keys.For("leeds", "council-tax-support", "consent-1", Fixtures.Smith),
            "a consent" => Cache.Keys.For("leeds", "free-school-meals", null, Fixtures.Smith),
            "another consent" => Cache.Keys.For("leeds", "free-school-meals", "consent-2", Fixtures.Smith),
            "another subject" => Cache.Keys.For("leeds", "free-school-meals", "consent-1", Fixtures.Jones),
            "the same person by another identifier" => Cache.Keys.For("leeds", "free-school-meals", "consent-1", Fixtures.Smith with { IdentifierKind = IdentifierKind.NationalAsylumSeekerServiceNumber, Identifier = "240712349" }),
            "another birth date" => Cache.Keys.For("leeds", "free-school-meals", "consent-1", Fixtures.Smith with { DateOfBirth = new DateOnly(1990, 1, 2) }),
            "another surname" => Cache.Keys.For("leeds", "free-school-meals", "consent-1", Fixtures.Smith with { LastName = "Smyth" }),
            _ => throw new ArgumentOutOfRangeException(nameof(other)),
        };

        (await Cache.Cache.GetAsync(stored, CancellationToken.None)).Should().NotBeNull();
        (await Cache.Cache.GetAsync(key, CancellationToken.None)).Should().BeNull();
    }

    [Fact]
    public async Task Get_ForTheSameSubjectWithSurnameInAnotherCase_Hits()
    {
        await Cache.Cache.SetAsync(Cache.KeyFor(Fixtures.Smith), Answer(), TimeSpan.FromMinutes(5), CancellationToken.None);

        var answer = await Cache.Cache.GetAsync(Cache.KeyFor(Fixtures.Smith with { LastName = "SMITH" }), CancellationToken.None);

        answer.Should().NotBeNull();
    }

    [Fact]
    public async Task Get_AfterTheTtlHasPassed_Misses()
    {
        var key = Cache.KeyFor(Fixtures.Taylor);
        await Cache.Cache.SetAsync(key, Answer(), TimeSpan.FromMilliseconds(400), CancellationToken.None);
        (await Cache.Cache.GetAsync(key, CancellationToken.None)).Should().NotBeNull();

        await LetTimePassAsync(TimeSpan.FromMilliseconds(600));

        (await Cache.Cache.GetAsync(key, CancellationToken.None)).Should().BeNull();
    }

    [Fact]
    public async Task Set_WithTtlBeyondTheAnswersValidity_KeepsItOnlyUntilValidUntil()
    {
        var key = Cache.KeyFor(Fixtures.Taylor);
        await Cache.Cache.SetAsync(key, Answer(validFor: TimeSpan.FromMilliseconds(400)), TimeSpan.FromHours(1), CancellationToken.None);
        (await Cache.Cache.GetAsync(key, CancellationToken.None)).Should().NotBeNull();

        await LetTimePassAsync(TimeSpan.FromMilliseconds(600));

        (await Cache.Cache.GetAsync(key, CancellationToken.None)).Should().BeNull();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1000)]
    public async Task Set_WithNoTimeLeft_StoresNothing(int ttlMilliseconds)
    {
        var key = Cache.KeyFor(Fixtures.Brown);

        await Cache.Cache.SetAsync(key, Answer(), TimeSpan.FromMilliseconds(ttlMilliseconds), CancellationToken.None);

        (await Cache.Store.GetAsync(key.Value, CancellationToken.None)).Status.Should().Be(StoreReadStatus.Absent);
        Cache.Counters.Get(CacheMetrics.WritesName, "skipped").Should().Be(1);
    }

    [Theory]
    [InlineData("version byte", 0)]
    [InlineData("nonce", 5)]
    [InlineData("ciphertext", 14)]
    [InlineData("tag", -1)]
    public async Task Get_WhenAnyByteOfTheStoredValueWasAltered_MissesAndCountsIt(string part, int index)
    {
        var key = Cache.KeyFor(Fixtures.Smith);
        await Cache.Cache.SetAsync(key, Answer(), TimeSpan.FromMinutes(5), CancellationToken.None);
        var value = (await Cache.Store.GetAsync(key.Value, CancellationToken.None)).Value!;
        var position = index < 0 ? value.Length + index : index;
        value[position] ^= 0x01;
        await Cache.Store.SetAsync(key.Value, value, TimeSpan.FromMinutes(5), CancellationToken.None);

        var answer = await Cache.Cache.GetAsync(key, CancellationToken.None);

        answer.Should().BeNull($"the {part} was altered");
        Cache.Counters.Get(CacheMetrics.LookupsName, "unreadable").Should().Be(1);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(29)]
    [InlineData(300)]
    public async Task Get_WhenTheStoredValueIsTruncatedOrNoise_Misses(int length)
    {
        var key = Cache.KeyFor(Fixtures.Smith);
        var noise = new byte[length];
        Random.Shared.NextBytes(noise);
        await Cache.Store.SetAsync(key.Value, noise, TimeSpan.FromMinutes(5), CancellationToken.None);

        var answer = await Cache.Cache.GetAsync(key, CancellationToken.None);

        answer.Should().BeNull();
        Cache.Counters.Get(CacheMetrics.LookupsName, "unreadable").Should().Be(1);
    }

    [Fact]
    public async Task Get_WhenTheValueWasCopiedFromAnotherKey_Misses()
    {
        var smith = Cache.KeyFor(Fixtures.Smith);
        var jones = Cache.KeyFor(Fixtures.Jones);
        await Cache.Cache.SetAsync(smith, Answer(Outcome.Eligible), TimeSpan.FromMinutes(5), CancellationToken.None);
        await Cache.Cache.SetAsync(jones, Answer(Outcome.NotEligible), TimeSpan.FromMinutes(5), CancellationToken.None);
        var smithValue = (await Cache.Store.GetAsync(smith.Value, CancellationToken.None)).Value!;

        await Cache.Store.SetAsync(jones.Value, smithValue, TimeSpan.FromMinutes(5), CancellationToken.None);

        (await Cache.Cache.GetAsync(jones, CancellationToken.None)).Should().BeNull();
        (await Cache.Cache.GetAsync(smith, CancellationToken.None))!.Outcome.Should().Be(Outcome.Eligible);
    }

    [Fact]
    public async Task Get_WhenTheValueWasSealedUnderAnotherEncryptionKey_Misses()
    {
        using var otherKeys = new TemporaryKeyRing();
        await using var other = await Create(otherKeys.Ring).ReadyAsync();
        var key = Cache.KeyFor(Fixtures.Khan);
        await other.Cache.SetAsync(key, Answer(), TimeSpan.FromMinutes(5), CancellationToken.None);
        var sealedByOther = (await other.Store.GetAsync(key.Value, CancellationToken.None)).Value!;

        await Cache.Store.SetAsync(key.Value, sealedByOther, TimeSpan.FromMinutes(5), CancellationToken.None);

        (await other.Cache.GetAsync(key, CancellationToken.None)).Should().NotBeNull();
        (await Cache.Cache.GetAsync(key, CancellationToken.None)).Should().BeNull();
    }

    [Fact]
    public async Task Set_TheSameAnswerTwice_SealsItWithFreshNonces()
    {
        var key = Cache.KeyFor(Fixtures.Smith);
        var answer = Answer();

        await Cache.Cache.SetAsync(key, answer, TimeSpan.FromMinutes(5), CancellationToken.None);
        var first = (await Cache.Store.GetAsync(key.Value, CancellationToken.None)).Value!;
        await Cache.Cache.SetAsync(key, answer, TimeSpan.FromMinutes(5), CancellationToken.None);
        var second = (await Cache.Store.GetAsync(key.Value, CancellationToken.None)).Value!;

        first[0].Should().Be(1, "the first byte is the format version");
        first.AsSpan(1, 12).SequenceEqual(second.AsSpan(1, 12)).Should().BeFalse("every write draws a new 96-bit nonce");
        second.Length.Should().Be(first.Length);
    }
}

/// <summary>The contract over the in-process store, with a clock moved by hand.</summary>
public sealed class MemoryAnswerCacheTests : AnswerCacheContractTests
{
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero));

    private protected override CacheUnderTest Create(KeyRing? keyRing = null) => new(redis: null, time, keyRing);

    private protected override Task LetTimePassAsync(TimeSpan duration)
    {
        time.Advance(duration);
        return Task.CompletedTask;
    }

    private protected override DateTimeOffset Now => time.GetUtcNow();

    private protected override string StoreName => "memory";

    [Fact]
    public async Task Set_BeyondTheSizeLimit_KeepsTheCacheWithinIt()
    {
        await using var small = new CacheUnderTest(timeProvider: time, settings: new Dictionary<string, string?> { ["Cache:MemorySizeLimitBytes"] = "1048576" });
        var answer = new CachedAnswer(Outcome.Eligible, ["dwp"], time.GetUtcNow(), time.GetUtcNow().AddHours(1));

        for (var i = 0; i < 10_000; i++)
        {
            await small.Cache.SetAsync(small.Keys.For("leeds", "free-school-meals", $"consent-{i}", Fixtures.Smith), answer, TimeSpan.FromHours(1), CancellationToken.None);
        }

        var kept = 0;
        for (var i = 0; i < 10_000; i++)
        {
            kept += await small.Cache.GetAsync(small.Keys.For("leeds", "free-school-meals", $"consent-{i}", Fixtures.Smith), CancellationToken.None) is null ? 0 : 1;
        }

        // About 300 bytes an entry against a 1 MiB limit: well under 10,000 fit, and the first few thousand do.
        kept.Should().BeInRange(1_000, 3_600);
    }
}

/// <summary>The contract over a real Redis started for this class.</summary>
public sealed class RedisAnswerCacheTests(RedisAnswerCacheTests.Server server) : AnswerCacheContractTests, IClassFixture<RedisAnswerCacheTests.Server>
{
    // These tests are about what the cache keeps, not how soon it gives up: a generous operation timeout keeps a
    // busy test machine from turning a slow GET into a miss (RedisOutageTests covers the timeouts themselves).
    private protected override CacheUnderTest Create(KeyRing? keyRing = null) =>
        new(server.Redis.Endpoint, TimeProvider.System, keyRing, new Dictionary<string, string?> { ["Cache:OperationTimeout"] = "00:00:02" });

    // Redis expires keys on its own clock, so real time has to pass.
    private protected override Task LetTimePassAsync(TimeSpan duration) => Task.Delay(duration);

    private protected override DateTimeOffset Now => TimeProvider.System.GetUtcNow();

    private protected override string StoreName => "redis";

    [Fact]
    public async Task Set_StoresAnExpiryNoLongerThanTheTtlGiven()
    {
        var key = Cache.KeyFor(Fixtures.Jones);

        await Cache.Cache.SetAsync(key, new CachedAnswer(Outcome.NotEligible, [], Now, Now.AddDays(1)), TimeSpan.FromSeconds(90), CancellationToken.None);

        using var raw = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(server.Redis.Endpoint);
        var ttl = await raw.GetDatabase().KeyTimeToLiveAsync(key.Value);
        ttl.Should().NotBeNull();
        ttl!.Value.Should().BeGreaterThan(TimeSpan.FromSeconds(85)).And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(90));
    }

    /// <summary>One redis-server for the class.</summary>
    public sealed class Server : IAsyncLifetime
    {
        public RedisServer Redis { get; private set; } = null!;

        public async Task InitializeAsync() => Redis = await RedisServer.StartNewAsync();

        public async Task DisposeAsync() => await Redis.DisposeAsync();
    }
}
