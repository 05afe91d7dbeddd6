using EligibilityGateway.BulkChecks;

namespace EligibilityGateway.Tests.BulkChecks;

/// <summary>
/// The bulk lane's rule for one provider (README.md, "Lanes"): bulk items enter while bulk + single calls in flight are
/// under the provider's limit less the reserve, single checks are counted and never wait, bulk work yields the slots
/// single checks use and keeps at least one, and waiting items are served first come first served.
/// </summary>
public sealed class ProviderSlotsTests
{
    // A provider allowing 12 calls with 2 reserved: bulk items may join while fewer than 10 calls are in flight.
    private static ProviderSlots Slots() => new("home-office", bulkLimit: 10);

    [Fact]
    public async Task BulkItems_EnterUpToTheLimitLessTheReserve_ThenWait()
    {
        var slots = Slots();
        for (var i = 0; i < 10; i++)
        {
            (await EnterWithin(slots, TimeSpan.FromSeconds(1))).Should().BeTrue($"item {i + 1} of 10 finds a slot");
        }

        var eleventh = slots.EnterBulkAsync(CancellationToken.None).AsTask();
        eleventh.IsCompleted.Should().BeFalse("the last two slots are the single checks' reserve");
        slots.Bulk.Should().Be(10);

        slots.Leave(wasBulk: true);
        await eleventh.WaitAsync(TimeSpan.FromSeconds(5));
        slots.Bulk.Should().Be(10, "the freed slot went to the waiting item");
    }

    [Fact]
    public async Task SingleChecks_NeverWait_AndBulkWorkYieldsTheSlotsTheyUse()
    {
        var slots = Slots();
        for (var i = 0; i < 10; i++)
        {
            await slots.EnterBulkAsync(CancellationToken.None);
        }

        // Three single checks arrive while bulk work is at its limit: each is counted at once, none waits.
        for (var i = 0; i < 3; i++)
        {
            slots.EnterSingle();
        }

        slots.Single.Should().Be(3);
        var waiting = slots.EnterBulkAsync(CancellationToken.None).AsTask();

        // Three bulk items finish: their slots are the single checks' now, not the waiting item's (7 + 3 = 10).
        for (var i = 0; i < 3; i++)
        {
            slots.Leave(wasBulk: true);
        }

        waiting.IsCompleted.Should().BeFalse("bulk + single calls in flight are at the limit less the reserve");
        slots.Bulk.Should().Be(7);

        // A single check finishes: its slot goes back to bulk work.
        slots.Leave(wasBulk: false);
        await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        slots.Bulk.Should().Be(8);
        slots.Single.Should().Be(2);
    }

    [Fact]
    public async Task BulkWork_KeepsOneSlot_WhateverTheNumberOfSingleChecks()
    {
        var slots = Slots();
        for (var i = 0; i < 30; i++)
        {
            slots.EnterSingle();
        }

        (await EnterWithin(slots, TimeSpan.FromSeconds(1))).Should().BeTrue("a job still progresses under a flood of single checks");
        var second = slots.EnterBulkAsync(CancellationToken.None).AsTask();
        second.IsCompleted.Should().BeFalse("only one slot is kept for bulk work while single checks need them all");

        slots.Leave(wasBulk: true);
        await second.WaitAsync(TimeSpan.FromSeconds(5));
        slots.Bulk.Should().Be(1);
    }

    [Fact]
    public async Task WaitingItems_AreServedInTheOrderTheyCame()
    {
        var slots = Slots();
        for (var i = 0; i < 10; i++)
        {
            await slots.EnterBulkAsync(CancellationToken.None);
        }

        var first = slots.EnterBulkAsync(CancellationToken.None).AsTask();
        var second = slots.EnterBulkAsync(CancellationToken.None).AsTask();

        slots.Leave(wasBulk: true);
        await first.WaitAsync(TimeSpan.FromSeconds(5));
        second.IsCompleted.Should().BeFalse();

        slots.Leave(wasBulk: true);
        await second.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task ACancelledWait_TakesNoSlot_AndHoldsNobodyUp()
    {
        var slots = Slots();
        for (var i = 0; i < 10; i++)
        {
            await slots.EnterBulkAsync(CancellationToken.None);
        }

        using var cancel = new CancellationTokenSource();
        var cancelled = slots.EnterBulkAsync(cancel.Token).AsTask();
        await cancel.CancelAsync();
        await FluentActions.Awaiting(() => cancelled).Should().ThrowAsync<OperationCanceledException>();

        // Every item leaves: the cancelled waiter is still queued, but the next item must not wait behind it.
        for (var i = 0; i < 10; i++)
        {
            slots.Leave(wasBulk: true);
        }

        slots.Bulk.Should().Be(0, "the cancelled waiter gave back the slot it was handed");
        (await EnterWithin(slots, TimeSpan.FromSeconds(1))).Should().BeTrue();
        slots.Bulk.Should().Be(1);
    }

    [Fact]
    public async Task ACancelledWait_LeftAloneInTheQueue_DoesNotStallTheNextItem()
    {
        var slots = new ProviderSlots("home-office", bulkLimit: 1);
        await slots.EnterBulkAsync(CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = slots.EnterBulkAsync(cancel.Token).AsTask();
        await cancel.CancelAsync();
        await FluentActions.Awaiting(() => cancelled).Should().ThrowAsync<OperationCanceledException>();

        // The holder leaves: the freed slot is offered to the cancelled waiter, refused, and stays free.
        slots.Leave(wasBulk: true);
        (await EnterWithin(slots, TimeSpan.FromSeconds(1))).Should().BeTrue();
    }

    private static async Task<bool> EnterWithin(ProviderSlots slots, TimeSpan timeout)
    {
        var entering = slots.EnterBulkAsync(CancellationToken.None).AsTask();
        return await Task.WhenAny(entering, Task.Delay(timeout)) == entering;
    }
}
