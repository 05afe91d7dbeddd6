using System.Collections.Immutable;
using EligibilityGateway.Consents;

namespace EligibilityGateway.Tests.Consents;

/// <summary>
/// What every consent store must do, run against each real engine by the classes below: compare-and-set transitions
/// and the atomic usage count. A test class per store supplies a fresh, empty store for every test.
/// </summary>
public abstract class ConsentStoreContractTests : IAsyncLifetime
{
    private protected static readonly DateTimeOffset Now = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);
    private IConsentStore store = null!;

    /// <summary>A new store on this test's database; opening the same database again gives another store on it.</summary>
    private protected abstract IConsentStore OpenStore();

    /// <summary>Creates this test's empty database.</summary>
    private protected virtual Task CreateDatabaseAsync() => Task.CompletedTask;

    private protected abstract Task DeleteDatabaseAsync();

    public async Task InitializeAsync()
    {
        await CreateDatabaseAsync();
        store = OpenStore();
        await store.InitializeAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        if (store is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }

        await DeleteDatabaseAsync();
    }

    private protected static Consent NewConsent(string id, ConsentStatus status = ConsentStatus.Authorised) => new()
    {
        ConsentId = id,
        CouncilId = "leeds",
        ClientId = "leeds",
        SchemeId = "free-school-meals",
        Purpose = "dpv:ServiceProvision",
        CaseReference = "FSM-1",
        Providers = ["dwp", "hmrc"],
        Released = ["outcome"],
        FrameworkId = "sandbox",
        FrameworkVersion = "1",
        Status = status,
        CreatedAt = Now,
        ExpiresAt = Now.AddDays(1),
        AuthorisedAt = status == ConsentStatus.Authorised ? Now : null,
        SealedSubject = [1, 2, 3],
    };

    [Fact]
    public async Task Insert_ThenFind_GivesBackEveryField()
    {
        var consent = NewConsent("c-1") with { RevokedBy = null, UsageCount = 0, LastUsedAt = null, SubjectReference = "sr1:x" };

        await store.InsertAsync(consent, CancellationToken.None);
        var found = await store.FindAsync("c-1", CancellationToken.None);

        found.Should().BeEquivalentTo(consent);
        (await store.FindAsync("c-2", CancellationToken.None)).Should().BeNull();
    }

    [Fact]
    public async Task InitializeAgain_KeepsTheConsents()
    {
        await store.InsertAsync(NewConsent("c-1"), CancellationToken.None);

        var reopened = OpenStore();
        try
        {
            await reopened.InitializeAsync(CancellationToken.None);
            (await reopened.FindAsync("c-1", CancellationToken.None)).Should().NotBeNull();
        }
        finally
        {
            if (reopened is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task ChangeState_OnlyFromTheExpectedStatus()
    {
        var consent = NewConsent("c-1");
        await store.InsertAsync(consent, CancellationToken.None);
        var revoked = consent with { Status = ConsentStatus.Revoked, RevokedAt = Now.AddHours(1), RevokedBy = "citizen" };

        (await store.TryChangeStateAsync("c-1", ConsentStatus.AwaitingAuthorisation, revoked, CancellationToken.None)).Should().BeFalse();
        (await store.TryChangeStateAsync("c-1", ConsentStatus.Authorised, revoked, CancellationToken.None)).Should().BeTrue();
        (await store.TryChangeStateAsync("c-1", ConsentStatus.Authorised, revoked, CancellationToken.None)).Should().BeFalse("the first revocation won");

        (await store.FindAsync("c-1", CancellationToken.None)).Should().BeEquivalentTo(revoked);
    }

    [Fact]
    public async Task CountUse_CountsOnlyAnAuthorisedUnexpiredConsent()
    {
        await store.InsertAsync(NewConsent("authorised"), CancellationToken.None);
        await store.InsertAsync(NewConsent("waiting", ConsentStatus.AwaitingAuthorisation), CancellationToken.None);

        (await store.TryCountUseAsync("authorised", Now, CancellationToken.None)).Should().Be(1);
        (await store.TryCountUseAsync("authorised", Now.AddMinutes(1), CancellationToken.None)).Should().Be(2);
        (await store.TryCountUseAsync("authorised", Now.AddDays(1), CancellationToken.None)).Should().BeNull("the consent expires at that instant");
        (await store.TryCountUseAsync("waiting", Now, CancellationToken.None)).Should().BeNull();
        (await store.TryCountUseAsync("missing", Now, CancellationToken.None)).Should().BeNull();
        var found = await store.FindAsync("authorised", CancellationToken.None);
        found!.UsageCount.Should().Be(2);
        found.LastUsedAt.Should().Be(Now.AddMinutes(1));
    }

    [Fact]
    public async Task CountUse_RacingARevocation_NeverCountsAfterIt()
    {
        var consent = NewConsent("c-1");
        await store.InsertAsync(consent, CancellationToken.None);
        var revoked = consent with { Status = ConsentStatus.Revoked, RevokedAt = Now, RevokedBy = "council" };

        var uses = Enumerable.Range(0, 50).Select(_ => Task.Run(async () => await store.TryCountUseAsync("c-1", Now, CancellationToken.None))).ToArray();
        var revoke = Task.Run(async () => await store.TryChangeStateAsync("c-1", ConsentStatus.Authorised, revoked, CancellationToken.None));
        var counts = await Task.WhenAll(uses);
        (await revoke).Should().BeTrue();

        var granted = counts.Where(c => c is not null).Select(c => c!.Value).ToImmutableArray();
        granted.Should().OnlyHaveUniqueItems("each use is counted once");
        (await store.FindAsync("c-1", CancellationToken.None))!.UsageCount.Should().Be(granted.Length);
        (await store.TryCountUseAsync("c-1", Now, CancellationToken.None)).Should().BeNull();
    }

    [Fact]
    public async Task ListBySubjectReference_GivesTheCitizensConsentsNewestFirst()
    {
        await store.InsertAsync(NewConsent("older") with { SubjectReference = "sr1:a" }, CancellationToken.None);
        await store.InsertAsync(NewConsent("newer") with { SubjectReference = "sr1:a", CreatedAt = Now.AddMinutes(1) }, CancellationToken.None);
        await store.InsertAsync(NewConsent("other") with { SubjectReference = "sr1:b" }, CancellationToken.None);
        await store.InsertAsync(NewConsent("unbound", ConsentStatus.AwaitingAuthorisation), CancellationToken.None);

        var listed = await store.ListBySubjectReferenceAsync("sr1:a", CancellationToken.None);

        listed.Select(c => c.ConsentId).Should().Equal("newer", "older");
        (await store.ListBySubjectReferenceAsync("sr1:none", CancellationToken.None)).Should().BeEmpty();
    }

    [Fact]
    public async Task DeleteUnanswered_RemovesOnlyAConsentStillAwaitingAuthorisation()
    {
        await store.InsertAsync(NewConsent("waiting", ConsentStatus.AwaitingAuthorisation), CancellationToken.None);
        await store.InsertAsync(NewConsent("authorised"), CancellationToken.None);

        (await store.DeleteUnansweredAsync("authorised", CancellationToken.None)).Should().BeFalse();
        (await store.DeleteUnansweredAsync("waiting", CancellationToken.None)).Should().BeTrue();

        (await store.FindAsync("waiting", CancellationToken.None)).Should().BeNull();
        (await store.FindAsync("authorised", CancellationToken.None)).Should().NotBeNull();
    }
}

/// <summary>The contract against the SQLite store on a real file.</summary>
public sealed class SqliteConsentStoreTests : ConsentStoreContractTests
{
    private readonly string directory = Directory.CreateTempSubdirectory("egw-consent-store-").FullName;

    private protected override IConsentStore OpenStore() => new SqliteConsentStore(Path.Combine(directory, "consents.db"), TimeSpan.FromSeconds(5));

    private protected override Task DeleteDatabaseAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(directory, recursive: true);
        return Task.CompletedTask;
    }
}
