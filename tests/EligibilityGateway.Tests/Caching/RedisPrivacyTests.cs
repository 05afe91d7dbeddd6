using System.Text;
using EligibilityGateway.Caching;
using EligibilityGateway.Checks;
using EligibilityGateway.Testing;
using StackExchange.Redis;

namespace EligibilityGateway.Tests.Caching;

/// <summary>No NI number, NASS number, surname or birth date in any Redis key or value.</summary>
public sealed class RedisPrivacyTests : IAsyncLifetime
{
    private RedisServer redis = null!;

    public async Task InitializeAsync() => redis = await RedisServer.StartNewAsync();

    public async Task DisposeAsync() => await redis.DisposeAsync();

    [Fact]
    public async Task Redis_AfterAnswersForEveryFixture_HoldsNoIdentifierSurnameOrBirthDateInAnyKeyOrValue()
    {
        await using (var cache = await new CacheUnderTest(redis.Endpoint).ReadyAsync())
        {
            var now = TimeProvider.System.GetUtcNow();
            foreach (var subject in Fixtures.All)
            {
                foreach (var (council, scheme, consent) in new[] { ("leeds", "free-school-meals", (string?)null), ("leeds", "council-tax-support", "consent-7"), ("camden", "free-school-meals", "consent-9") })
                {
                    var answer = new CachedAnswer(Outcome.Eligible, ["dwp", "hmrc", "home-office"], now, now.AddHours(1));
                    await cache.Cache.SetAsync(cache.Keys.For(council, scheme, consent, subject), answer, TimeSpan.FromMinutes(10), CancellationToken.None);
                }
            }
        }

        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint + ",allowAdmin=true");
        var database = connection.GetDatabase();
        var keys = connection.GetServer(redis.Endpoint).Keys(pattern: "*", pageSize: 7).ToList();
        keys.Should().HaveCount(Fixtures.All.Length * 3, "every answer written is in Redis, and the scan saw them all");

        var needles = Fixtures.All.SelectMany(Needles).Concat(["leeds", "camden", "free-school-meals", "council-tax-support", "consent-7", "consent-9"]).ToList();
        foreach (var key in keys)
        {
            var value = (byte[])(await database.StringGetAsync(key))!;
            var dump = await database.KeyDumpAsync(key) ?? [];
            value.Should().NotBeEmpty();
            foreach (var haystack in new[] { Encoding.Latin1.GetBytes(key.ToString()), value, dump })
            {
                var text = Encoding.Latin1.GetString(haystack);
                foreach (var needle in needles)
                {
                    text.Should().NotContainEquivalentOf(needle, $"{key} must not reveal '{needle}'");
                }
            }
        }
    }

    private static IEnumerable<string> Needles(Subject subject)
    {
        yield return subject.Identifier;
        if (subject.IdentifierKind == IdentifierKind.NationalInsuranceNumber)
        {
            var i = subject.Identifier;
            yield return $"{i[..2]} {i[2..4]} {i[4..6]} {i[6..8]} {i[8..]}";
        }

        yield return subject.LastName;
        var d = subject.DateOfBirth;
        foreach (var format in new[] { "yyyy-MM-dd", "yyyyMMdd", "dd/MM/yyyy", "MM/dd/yyyy", "dd-MM-yyyy", "dd.MM.yyyy", "yyyy/MM/dd", "d MMMM yyyy", "d MMM yyyy", "ddMMyy" })
        {
            yield return d.ToString(format, System.Globalization.CultureInfo.InvariantCulture);
        }

        yield return d.DayNumber.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
