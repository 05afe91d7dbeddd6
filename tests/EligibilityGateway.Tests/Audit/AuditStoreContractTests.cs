using System.Collections.Immutable;
using EligibilityGateway.Audit;
using EligibilityGateway.Checks;
using EligibilityGateway.Security;
using EligibilityGateway.Tests.Caching;

namespace EligibilityGateway.Tests.Audit;

/// <summary>
/// What every audit store must do, run against each one (<see cref="SqliteAuditStoreContractTests"/>,
/// <see cref="PostgresAuditStoreContractTests"/>) through the same writer the gateway uses: append and read back,
/// gap-free sequences, a council's own checks only, a chain that verifies, every tampering detected at the right
/// sequence, refusal while another writer holds the lock and recovery after it.
/// </summary>
public abstract class AuditStoreContractTests
{
    /// <summary>The settings that select and configure the store under test.</summary>
    private protected abstract Task<IDictionary<string, string?>> StoreSettingsAsync();

    /// <summary>Tampers with the closed log's storage as an attacker with write access to the database would.</summary>
    private protected abstract Task TamperAsync(string tampering, AuditTestLog audit);

    /// <summary>Holds the lock that appenders take, from another connection, until disposed.</summary>
    private protected abstract Task<IAsyncDisposable> HoldWriteLockAsync(AuditTestLog audit);

    /// <summary>A store over the same data opened for reading only, as the CLI opens it, without the key ring.</summary>
    private protected abstract IAuditStore OpenForVerification(AuditTestLog audit);

    private protected async Task<AuditTestLog> CreateLogAsync(IDictionary<string, string?>? settings = null, bool open = true, TimeProvider? timeProvider = null)
    {
        var merged = new Dictionary<string, string?>(await StoreSettingsAsync());
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            merged[key] = value;
        }

        return await AuditTestLog.CreateAsync(settings: merged, open: open, timeProvider: timeProvider);
    }

    [Fact]
    public async Task AppendAsync_FromFiveThousandConcurrentCallers_AssignsGapFreeSequencesAndEveryRecordReadsBackIntact()
    {
        await using var audit = await CreateLogAsync();
        var entries = Enumerable.Range(1, 5000).Select(n => AuditTestLog.Check(n)).ToArray();

        var receipts = await Task.WhenAll(entries.Select(e => Task.Run(async () => await audit.Log.AppendAsync(e))));

        receipts.Select(r => r.Sequence).Should().BeEquivalentTo(Enumerable.Range(1, 5000).Select(n => (long)n));
        var records = await audit.ReadAllAsync();
        records.Select(r => r.Sequence).Should().Equal(Enumerable.Range(1, 5000).Select(n => (long)n), "sequences are gap-free in commit order");
        records.Select(r => r.RecordedAt).Should().BeInAscendingOrder("one writer stamps batches in commit order");
        var bySequence = records.ToDictionary(r => r.Sequence);
        for (var i = 0; i < entries.Length; i++)
        {
            var record = bySequence[receipts[i].Sequence];
            record.RecordedAt.Should().Be(receipts[i].RecordedAt);
            record.FormatVersion.Should().Be(AuditRecordFormat.CurrentVersion);
            record.Entry.Should().BeEquivalentTo(entries[i], $"record {record.Sequence} reads back as appended");
        }

        audit.Log.TransactionsCommitted.Should().BeLessThan(5000, "concurrent appends share transactions");
    }

    [Fact]
    public async Task AppendAsync_ATokenIssuedRecord_KeepsTheTokensIdScopeAndExpiryAndTheChainStillVerifies()
    {
        await using var audit = await CreateLogAsync();
        var expiresAt = new DateTimeOffset(2026, 12, 2, 10, 15, 0, TimeSpan.Zero).AddTicks(1234567);
        var issued = new AuditEntry
        {
            EventType = AuditEventTypes.TokenIssued,
            ClientId = "leeds-caseworker",
            CouncilId = "leeds",
            ConsentId = "c0ffee00-1234-4321-8888-000000000001",
            Decision = AuditDecisions.Allow,
            Rule = "token:authorization_code/private_key_jwt",
            IssuedToken = new AuditIssuedToken("tok-4f2a", "check consents", expiresAt),
        };

        await audit.Log.AppendAsync(AuditTestLog.Check(1));
        var receipt = await audit.Log.AppendAsync(issued);

        var record = (await audit.ReadAllAsync()).Single(r => r.Sequence == receipt.Sequence);
        record.Entry.Should().BeEquivalentTo(issued);
        record.Entry.ConfirmedBy.Should().BeNull("a token record releases no check fields");
        (await audit.ReadAllAsync()).Single(r => r.Sequence == 1).Entry.IssuedToken.Should().BeNull("a check record names no token");
        var stored = await audit.Store.ReadChainAsync(receipt.Sequence, CancellationToken.None).FirstAsync();
        stored.Values[21].Should().Be("""{"tokenId":"tok-4f2a","scope":"check consents","expiresAt":"2026-12-02T10:15:00.1234567Z"}""",
            "the stored form is one spelling, whichever store wrote it");
        (await VerifyAsync(audit)).Should().BeOfType<AuditVerification.Valid>().Which.LastSequence.Should().Be(receipt.Sequence);
    }

    [Fact]
    public async Task AppendAsync_WhenAnotherConnectionHoldsTheWriteLockPastTheTimeout_RefusesEveryEntryAndRecordsNone()
    {
        await using var audit = await CreateLogAsync();
        await audit.Log.AppendAsync(AuditTestLog.Check(1));

        await using (await HoldWriteLockAsync(audit))
        {
            var attempts = Enumerable.Range(2, 20).Select(n => Refused(audit.Log.AppendAsync(AuditTestLog.Check(n)))).ToArray();

            var failures = await Task.WhenAll(attempts);

            failures.Should().AllSatisfy(f => f.Should().NotBeNull().And.Match<AuditUnavailableException>(e => e.Reason == AuditUnavailableReason.CommitFailed));
            audit.Log.LastFailure.Should().NotBeNull();
            (await audit.ReadAllAsync()).Select(r => r.Sequence).Should().Equal([1L], "nothing of a failed batch is readable, even while the lock is held");
        }

        (await audit.ReadAllAsync()).Select(r => r.Sequence).Should().Equal([1L], "nothing of a failed batch appears after the lock goes");
    }

    [Fact]
    public async Task AppendAsync_AfterTheLockIsReleased_RecoversAndContinuesTheSequenceWithoutAGap()
    {
        await using var audit = await CreateLogAsync();
        await audit.Log.AppendAsync(AuditTestLog.Check(1));
        await using (await HoldWriteLockAsync(audit))
        {
            await FluentActions.Awaiting(() => audit.Log.AppendAsync(AuditTestLog.Check(2)).AsTask()).Should().ThrowAsync<AuditUnavailableException>();
        }

        var receipt = await audit.Log.AppendAsync(AuditTestLog.Check(3));

        receipt.Sequence.Should().Be(2, "a failed batch takes no sequence numbers");
        audit.Log.LastFailure.Should().BeNull();
        (await audit.ReadAllAsync()).Select(r => r.Entry.CaseReference).Should().Equal("FSM-2026-000001", "FSM-2026-000003");
    }

    [Fact]
    public async Task FindCheckAsync_ReturnsTheCouncilsOwnAnsweredCheckWithWhatWasReleased()
    {
        await using var audit = await CreateLogAsync();
        var entry = AuditTestLog.Check(1, "leeds", "chk_leeds_1") with { Outcome = Outcome.Eligible, ConsentId = "cns_1", LawfulBasis = "consent" };
        await audit.Log.AppendAsync(AuditTestLog.Check(2, "leeds"));
        var receipt = await audit.Log.AppendAsync(entry);

        var check = await audit.Log.FindCheckAsync("chk_leeds_1", "leeds");

        check.Should().BeEquivalentTo(new StoredCheck(
            "chk_leeds_1", "leeds", "free-school-meals", Outcome.Eligible, entry.CheckedAt!.Value, entry.ValidUntil!.Value, entry.ServedFrom!,
            "consent", "cns_1", entry.CaseReference, ImmutableArray.Create("dwp"), entry.ProviderCalls, receipt.Sequence));
    }

    [Fact]
    public async Task FindCheckAsync_ForAnotherCouncilsCheck_ReturnsNull()
    {
        await using var audit = await CreateLogAsync();
        await audit.Log.AppendAsync(AuditTestLog.Check(1, "leeds", "chk_shared_id"));

        var check = await audit.Log.FindCheckAsync("chk_shared_id", "camden");

        check.Should().BeNull();
        (await audit.Log.FindCheckAsync("chk_shared_id", "leeds")).Should().NotBeNull("the check exists, for its own council");
    }

    [Fact]
    public async Task FindCheckAsync_ForADeniedCheck_ReturnsNull()
    {
        await using var audit = await CreateLogAsync();
        await audit.Log.AppendAsync(new AuditEntry
        {
            EventType = AuditEventTypes.Check,
            CouncilId = "camden",
            SchemeId = "free-school-meals",
            LawfulBasis = "public-task",
            Decision = AuditDecisions.Deny,
            Rule = "deny:lawful-basis-not-permitted",
            CheckId = "chk_denied",
        });

        (await audit.Log.FindCheckAsync("chk_denied", "camden")).Should().BeNull("a denied check has no result to show");
        (await audit.ReadAllAsync()).Should().ContainSingle().Which.Entry.Rule.Should().Be("deny:lawful-basis-not-permitted");
    }

    [Fact]
    public async Task ReadSubjectChecksAsync_ReturnsThePersonsChecksNewestFirstPagedByTheLastSequenceShown()
    {
        await using var audit = await CreateLogAsync();
        for (var i = 1; i <= 6; i++)
        {
            await audit.Log.AppendAsync(AuditTestLog.Check(i % 2 == 0 ? 2 : 1) with { CaseReference = $"case-{i}" });
        }

        var subject = AuditTestLog.Check(2).SubjectReference!;
        var first = await audit.Store.ReadSubjectChecksAsync(subject, null, 2, CancellationToken.None);
        var second = await audit.Store.ReadSubjectChecksAsync(subject, first[^1].Sequence, 2, CancellationToken.None);

        first.Select(r => r.Entry.CaseReference).Should().Equal("case-6", "case-4");
        second.Select(r => r.Entry.CaseReference).Should().Equal("case-2");
    }

    [Fact]
    public async Task QueryAsync_KeepsToTheScopeAndFiltersAndPagesByKeysetInEitherDirection()
    {
        await using var audit = await CreateLogAsync();
        for (var i = 1; i <= 12; i++)
        {
            await audit.Log.AppendAsync(AuditTestLog.Check(i, i % 3 == 0 ? "camden" : "leeds"));
        }

        var leeds = new AuditQuery { ScopeCouncilId = "leeds" };
        var newest = await audit.Store.QueryAsync(leeds, new AuditPageRequest(null, 3, AuditOrder.Descending), CancellationToken.None);
        var older = await audit.Store.QueryAsync(leeds, new AuditPageRequest(newest[^1].Sequence, 3, AuditOrder.Descending), CancellationToken.None);
        var oldest = await audit.Store.QueryAsync(leeds, new AuditPageRequest(null, 2, AuditOrder.Ascending), CancellationToken.None);
        var eligibleInLeeds = await audit.Store.QueryAsync(leeds with { Outcome = "eligible" }, new AuditPageRequest(null, 100, AuditOrder.Ascending), CancellationToken.None);
        var none = await audit.Store.QueryAsync(leeds with { CouncilId = "camden" }, new AuditPageRequest(null, 100, AuditOrder.Descending), CancellationToken.None);
        var future = await audit.Store.QueryAsync(new AuditQuery { From = DateTimeOffset.MaxValue.AddYears(-1) }, new AuditPageRequest(null, 100, AuditOrder.Descending), CancellationToken.None);
        var streamed = await audit.Store.StreamAsync(new AuditQuery { ScopeCouncilId = "camden" }, CancellationToken.None).ToListAsync();

        newest.Select(r => r.Sequence).Should().Equal(11, 10, 8);
        older.Select(r => r.Sequence).Should().Equal(7, 5, 4);
        oldest.Select(r => r.Sequence).Should().Equal(1, 2);
        eligibleInLeeds.Should().NotBeEmpty().And.AllSatisfy(r => r.Values[13].Should().Be("eligible"));
        eligibleInLeeds.Select(r => r.Sequence).Should().Equal(new long[] { 4, 8 }, "Check(n) is eligible when n % 4 == 0, and 12 is Camden's");
        none.Should().BeEmpty("a council auditor never sees another council's records, whatever it asks for");
        future.Should().BeEmpty();
        streamed.Select(r => r.Sequence).Should().Equal(3, 6, 9, 12);
    }

    [Fact]
    public async Task CountPerDayAsync_CountsByUtcDayCouncilAndOutcome_WithinTheScopeAndFilters()
    {
        await using var audit = await CreateLogAsync(open: false);
        await audit.Store.InitializeAsync(CancellationToken.None);
        var monday = new DateTimeOffset(2026, 11, 16, 23, 59, 59, TimeSpan.Zero);
        var tuesday = new DateTimeOffset(2026, 11, 17, 0, 0, 0, TimeSpan.Zero);

        // Check(n) is eligible when n % 4 == 0 and not-eligible when n % 4 == 1.
        await audit.Store.AppendBatchAsync([AuditTestLog.Check(4), AuditTestLog.Check(8), AuditTestLog.Check(1), AuditTestLog.Check(5, "camden")], monday, CancellationToken.None);
        await audit.Store.AppendBatchAsync(
            [AuditTestLog.Check(12), AuditTestLog.Check(9) with { Decision = AuditDecisions.Deny, Rule = "deny:lawful-basis-not-permitted", Outcome = null, ServedFrom = null, ProviderCalls = [], CheckId = null, CheckedAt = null, ValidUntil = null, ConfirmedBy = null }],
            tuesday,
            CancellationToken.None);

        var all = await audit.Store.CountPerDayAsync(new AuditQuery(), CancellationToken.None);
        var leeds = await audit.Store.CountPerDayAsync(new AuditQuery { ScopeCouncilId = "leeds" }, CancellationToken.None);
        var leedsTuesdayAllowed = await audit.Store.CountPerDayAsync(
            new AuditQuery { ScopeCouncilId = "leeds", From = tuesday, To = tuesday.AddDays(1), Decision = AuditDecisions.Allow }, CancellationToken.None);
        var nothing = await audit.Store.CountPerDayAsync(new AuditQuery { ScopeCouncilId = "leeds", CouncilId = "camden" }, CancellationToken.None);

        var mondayDay = new DateOnly(2026, 11, 16);
        var tuesdayDay = new DateOnly(2026, 11, 17);
        all.Should().Equal(
            new AuditDailyCount(mondayDay, "camden", "not-eligible", 1),
            new AuditDailyCount(mondayDay, "leeds", "eligible", 2),
            new AuditDailyCount(mondayDay, "leeds", "not-eligible", 1),
            new AuditDailyCount(tuesdayDay, "leeds", null, 1),
            new AuditDailyCount(tuesdayDay, "leeds", "eligible", 1));
        leeds.Should().Equal(all.Where(c => c.CouncilId == "leeds"), "the scope is a condition of the count");
        leedsTuesdayAllowed.Should().Equal(new AuditDailyCount(tuesdayDay, "leeds", "eligible", 1));
        nothing.Should().BeEmpty();
        var reference = await AuditDailyCount.CountAsync(audit.Store.ReadChainAsync(1, CancellationToken.None), CancellationToken.None);
        all.Should().Equal(reference, "the store's grouped query answers what the reference semantics answer");
    }

    [Fact]
    public async Task Verify_AnUntouchedLog_IsValidUpToItsLastRecordAndCheckpoint()
    {
        await using var audit = await AuditTampering.WriteClosedLogAsync(await StoreSettingsAsync());

        var result = await VerifyAsync(audit);

        var valid = result.Should().BeOfType<AuditVerification.Valid>().Subject;
        valid.Count.Should().Be(AuditTampering.Records);
        valid.LastSequence.Should().Be(AuditTampering.Records);
        valid.LastCheckpoint!.Sequence.Should().Be(AuditTampering.Records, "the log signs its head on shutdown");
    }

    [Theory]
    [MemberData(nameof(AuditTampering.Cases), MemberType = typeof(AuditTampering))]
    public async Task Verify_AfterTampering_NamesTheFirstBadSequence(string tampering, long firstBadSequence)
    {
        await using var audit = await AuditTampering.WriteClosedLogAsync(await StoreSettingsAsync());
        await TamperAsync(tampering, audit);

        var result = await VerifyAsync(audit);

        result.Should().BeOfType<AuditVerification.Invalid>().Which.FirstBadSequence.Should().Be(firstBadSequence, AuditVerification.Describe(result));
    }

    [Fact]
    public async Task Verify_AnEmptyLog_IsValidWithNoRecords()
    {
        await using var audit = await CreateLogAsync();
        var keys = System.Text.Encoding.UTF8.GetString(AuditKeySet.Serialize(audit.Keys().PublicAuditKeys()));

        var result = await AuditVerifier.VerifyAsync(audit.Store, new AuditCheckpointVerifier(keys), CancellationToken.None);

        result.Should().Be(new AuditVerification.Valid(0, 0, null));
    }

    [Fact]
    public async Task Verify_WhileTheLogIsOpen_ReadsASnapshotAndSeesTheCountBasedCheckpoints()
    {
        await using var audit = await CreateLogAsync(AuditTampering.CheckpointEveryTen);
        for (var i = 1; i <= 23; i++)
        {
            await audit.Log.AppendAsync(AuditTestLog.Check(i));
        }

        var keys = System.Text.Encoding.UTF8.GetString(AuditKeySet.Serialize(audit.Keys().PublicAuditKeys()));
        var result = await AuditVerifier.VerifyAsync(audit.Store, new AuditCheckpointVerifier(keys), CancellationToken.None);

        var valid = result.Should().BeOfType<AuditVerification.Valid>().Subject;
        valid.Count.Should().Be(23);
        valid.LastCheckpoint!.Sequence.Should().Be(20);
    }

    [Fact]
    public async Task Purge_WhenEveryRecordHasExpired_RemovesThemUpToTheLastCheckpointRecordsThePurgeAndTheRestVerifies()
    {
        var clock = new FakeTimeProvider(AuditRetentionTests.Start);
        await using var audit = await CreateLogAsync(AuditTampering.CheckpointEveryTen, timeProvider: new FakeTimeProvider(AuditRetentionTests.Start));
        for (var i = 1; i <= 25; i++)
        {
            await audit.Log.AppendAsync(AuditTestLog.Check(i));
        }

        // Only the purger's clock moves, so the log's tail stays unsigned (PurgerAt).
        clock.Advance(TimeSpan.FromDays(2));
        var result = await audit.PurgerAt(clock).PurgeAsync(AuditRetentionTests.Framework(fsm: TimeSpan.FromDays(1), cts: TimeSpan.FromDays(30)), CancellationToken.None);

        result.Should().Be(new AuditPurgeResult.Purged(1, 20, 20, 26), "records 21 to 25 have no checkpoint after them to anchor on, so they wait");
        var records = await audit.ReadAllAsync();
        records.Select(r => r.Sequence).Should().Equal(21, 22, 23, 24, 25, 26);
        var purge = records[^1];
        purge.Entry.Should().BeEquivalentTo(new AuditEntry
        {
            EventType = AuditEventTypes.AuditPurged,
            Rule = "retention:purged:1-20",
            FrameworkId = "eligibility-gateway-sandbox",
            FrameworkVersion = AuditRetentionTests.Framework(TimeSpan.FromDays(1), TimeSpan.FromDays(30)).Version,
        });
        (await audit.Store.ReadCheckpointsAsync(CancellationToken.None)).Select(c => c.Sequence).Should().StartWith([10L, 20L], "checkpoints are kept: the one at 20 anchors the rest");
        await audit.CloseAsync();

        var verification = await VerifyAsync(audit);

        var valid = verification.Should().BeOfType<AuditVerification.Valid>().Subject;
        valid.Purged.Should().Be(new AuditPurgedRange(20, 20, 26));
        valid.Count.Should().Be(6);
        valid.LastSequence.Should().Be(26);
        AuditVerification.Describe(valid).Should().Contain("sequences 1 to 20 purged under retention, anchored at checkpoint 20 (purge recorded at sequence 26)");
    }

    [Fact]
    public async Task Purge_KeepsEverythingFromTheOldestRecordAnySchemeMustKeep_AndALaterPurgeAlsoTakesTheEarlierPurgeEvent()
    {
        var clock = new FakeTimeProvider(AuditRetentionTests.Start);
        await using var audit = await CreateLogAsync(AuditTampering.CheckpointEveryTen, timeProvider: clock);
        for (var i = 1; i <= 25; i++)
        {
            // Records 11 to 15 are of the scheme kept for 30 days; the others of the scheme kept for one.
            await audit.Log.AppendAsync(AuditTestLog.Check(i) with { SchemeId = i is >= 11 and <= 15 ? "council-tax-support" : "free-school-meals" });
        }

        var framework = AuditRetentionTests.Framework(fsm: TimeSpan.FromDays(1), cts: TimeSpan.FromDays(30));
        clock.Advance(TimeSpan.FromDays(2));
        var first = await audit.Purger().PurgeAsync(framework, CancellationToken.None);

        first.Should().Be(new AuditPurgeResult.Purged(1, 10, 10, 26), "record 11 must be kept, so the boundary is the checkpoint before it");
        (await audit.ReadAllAsync()).Select(r => r.Sequence).Should().Equal(Enumerable.Range(11, 16).Select(n => (long)n), "expired records after a kept one stay too");
        (await VerifyOpenAsync(audit)).Should().BeOfType<AuditVerification.Valid>().Which.Purged.Should().Be(new AuditPurgedRange(10, 10, 26));

        // A month on, the log has signed its tail, the first purge's event (on commit, or when idle for an hour).
        clock.Advance(TimeSpan.FromDays(31));
        await audit.AdvanceUntilCheckpointAsync(clock, TimeSpan.FromHours(1), 26);
        var second = await audit.Purger().PurgeAsync(framework, CancellationToken.None);

        second.Should().Be(new AuditPurgeResult.Purged(11, 26, 16, 27), "the first purge's event (26, no scheme: the longest retention) has expired too, and a checkpoint was signed there");
        (await audit.ReadAllAsync()).Select(r => r.Sequence).Should().Equal([27L]);
        var receipt = await audit.Log.AppendAsync(AuditTestLog.Check(99));
        receipt.Sequence.Should().Be(28, "appending carries on from the head, gap-free");
        await audit.CloseAsync();
        var verification = await VerifyAsync(audit);
        verification.Should().BeOfType<AuditVerification.Valid>(AuditVerification.Describe(verification)).Which.Purged.Should().Be(new AuditPurgedRange(26, 26, 27));
    }

    [Fact]
    public async Task Purge_WhenNoCheckpointFollowsTheExpiredRecords_RemovesNothingAndRecordsNothing()
    {
        var clock = new FakeTimeProvider(AuditRetentionTests.Start);
        await using var audit = await CreateLogAsync(AuditTampering.CheckpointEveryTen, timeProvider: new FakeTimeProvider(AuditRetentionTests.Start));
        for (var i = 1; i <= 5; i++)
        {
            await audit.Log.AppendAsync(AuditTestLog.Check(i));
        }

        // Only the purger's clock moves, so the log's tail stays unsigned (PurgerAt).
        clock.Advance(TimeSpan.FromDays(2));
        var result = await audit.PurgerAt(clock).PurgeAsync(AuditRetentionTests.Framework(TimeSpan.FromDays(1), TimeSpan.FromDays(1)), CancellationToken.None);

        result.Should().BeOfType<AuditPurgeResult.NothingToPurge>().Which.Reason.Should().Contain("no signed checkpoint");
        (await audit.ReadAllAsync()).Should().HaveCount(5);
    }

    [Fact]
    public async Task Purge_WhenTheOldestRecordIsWithinItsRetention_RemovesNothing()
    {
        await using var audit = await CreateLogAsync(AuditTampering.CheckpointEveryTen);
        for (var i = 1; i <= 12; i++)
        {
            await audit.Log.AppendAsync(AuditTestLog.Check(i));
        }

        var result = await audit.Purger().PurgeAsync(AuditRetentionTests.Framework(TimeSpan.FromDays(1), TimeSpan.FromDays(1)), CancellationToken.None);

        result.Should().BeOfType<AuditPurgeResult.NothingToPurge>().Which.Reason.Should().Contain("sequence 1, is still within its retention");
        (await audit.ReadAllAsync()).Should().HaveCount(12);
    }

    [Fact]
    public async Task DeleteThroughCheckpoint_RefusesASequenceWithoutACheckpointAndTheHead()
    {
        await using var audit = await CreateLogAsync(AuditTampering.CheckpointEveryTen);
        for (var i = 1; i <= 10; i++)
        {
            await audit.Log.AppendAsync(AuditTestLog.Check(i));
        }

        var withoutAnchor = () => audit.Store.DeleteThroughCheckpointAsync(5, CancellationToken.None).AsTask();
        var theHead = () => audit.Store.DeleteThroughCheckpointAsync(10, CancellationToken.None).AsTask();

        await withoutAnchor.Should().ThrowAsync<InvalidOperationException>().WithMessage("*no checkpoint at sequence 5*");
        await theHead.Should().ThrowAsync<InvalidOperationException>().WithMessage("*head of the log*");
        (await audit.ReadAllAsync()).Should().HaveCount(10);
    }

    [Fact]
    public async Task Verify_WhenRecordsBeyondTheDeclaredPurgeAreDeletedUpToACheckpoint_NamesTheFirstUndeclaredRecord()
    {
        var clock = new FakeTimeProvider(AuditRetentionTests.Start);
        await using var audit = await CreateLogAsync(AuditTampering.CheckpointEveryTen, timeProvider: clock);
        for (var i = 1; i <= 25; i++)
        {
            await audit.Log.AppendAsync(AuditTestLog.Check(i) with { SchemeId = i is >= 11 and <= 15 ? "council-tax-support" : "free-school-meals" });
        }

        clock.Advance(TimeSpan.FromDays(2));
        (await audit.Purger().PurgeAsync(AuditRetentionTests.Framework(TimeSpan.FromDays(1), TimeSpan.FromDays(30)), CancellationToken.None))
            .Should().Be(new AuditPurgeResult.Purged(1, 10, 10, 26));
        await audit.CloseAsync();
        await TamperAsync("delete-up-to-the-checkpoint-at-20", audit);

        var result = await VerifyAsync(audit);

        var invalid = result.Should().BeOfType<AuditVerification.Invalid>().Subject;
        invalid.FirstBadSequence.Should().Be(11, "the purge event declares 1 to 10; 11 to 20 were deleted, anchor or not");
        invalid.Reason.Should().Contain("no purge event in the log declares them purged");
    }

    private async Task<AuditVerification> VerifyOpenAsync(AuditTestLog audit)
    {
        var keys = System.Text.Encoding.UTF8.GetString(AuditKeySet.Serialize(audit.Keys().PublicAuditKeys()));
        return await AuditVerifier.VerifyAsync(audit.Store, new AuditCheckpointVerifier(keys), CancellationToken.None);
    }

    private async Task<AuditVerification> VerifyAsync(AuditTestLog audit)
    {
        await using var store = OpenForVerification(audit);
        return await AuditVerifier.VerifyAsync(store, new AuditCheckpointVerifier(AuditTampering.PublicKeySet(Path.Combine(audit.Directory, "keys"))), CancellationToken.None);
    }

    private static async Task<AuditUnavailableException?> Refused(ValueTask<AuditReceipt> append)
    {
        try
        {
            await append;
            return null;
        }
        catch (AuditUnavailableException ex)
        {
            return ex;
        }
    }
}
