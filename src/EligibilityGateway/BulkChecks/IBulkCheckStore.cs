namespace EligibilityGateway.BulkChecks;

/// <summary>
/// Where bulk jobs and their items live (README.md, "Durable state"): <see cref="SqliteBulkCheckStore"/> by default,
/// <see cref="PostgresBulkCheckStore"/> when <c>BulkChecks:Postgres:ConnectionString</c> is set. Both keep the same
/// rules: a lease and a claim are each one statement, the lease owner is part of every statement that acts on a leased
/// job, a batch of results is one transaction, and a sealed subject is erased once its item is settled or cancelled.
/// </summary>
internal interface IBulkCheckStore
{
    /// <summary>Where the jobs are, for logs: a file path, or host, port and database (never a connection string).</summary>
    string Location { get; }

    /// <summary>Opens the store and brings its schema up to date; a store written by a newer gateway is refused.</summary>
    ValueTask InitializeAsync(CancellationToken cancellationToken);

    /// <summary>Stores a new job and every item (valid and invalid) in one transaction.</summary>
    Task CreateAsync(BulkJob job, IReadOnlyList<NewBulkItem> items, CancellationToken cancellationToken);

    /// <summary>The job if <paramref name="councilId"/> submitted it (the council is part of the query), else null.</summary>
    Task<BulkJob?> FindAsync(string jobId, string councilId, CancellationToken cancellationToken);

    /// <summary>How many items of the job are in each state (claimed ones count as pending), and the outcomes.</summary>
    Task<BulkCounts> CountAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>
    /// Cancels a queued or running job of <paramref name="councilId"/>: its pending items become cancelled and their
    /// sealed subjects are erased; items already handed to a worker finish and are recorded. Returns the job as it is
    /// afterwards, or null when the council has no such job.
    /// </summary>
    Task<BulkJob?> CancelAsync(string jobId, string councilId, DateTimeOffset now, TimeSpan retention, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the lease of the oldest open job nobody holds (or whose holder let its lease expire), other than those in
    /// <paramref name="exclude"/>; null when there is none. A cancelled job whose holder died before releasing it is
    /// taken too, so that its claimed items are settled (looked up in the audit log, else marked cancelled).
    /// </summary>
    Task<BulkJob?> TryLeaseAsync(string owner, DateTimeOffset now, TimeSpan duration, IReadOnlyCollection<string> exclude, CancellationToken cancellationToken);

    /// <summary>Extends the lease if <paramref name="owner"/> still holds it; returns the job's status then, or null when the lease is lost.</summary>
    Task<string?> RenewAsync(string jobId, string owner, DateTimeOffset now, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>Items handed to a worker before this lease (a previous holder's): they may already be in the audit log.</summary>
    Task<IReadOnlyList<ClaimedBulkItem>> ReadClaimedAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>Hands up to <paramref name="limit"/> pending items, in row order, to the lease holder <paramref name="owner"/>; none if it no longer holds the lease of a running job.</summary>
    Task<IReadOnlyList<ClaimedBulkItem>> ClaimAsync(string jobId, string owner, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the results of items whose audit records are committed, in one transaction, and erases their sealed
    /// subjects. Written whatever the job's state and whoever holds its lease: a result is only ever written after the
    /// item's audit record has committed, so it is true, and a checked item keeps its result even if the job was
    /// cancelled or its lease lost meanwhile.
    /// </summary>
    Task WriteResultsAsync(string jobId, IReadOnlyList<BulkItemResult> results, CancellationToken cancellationToken);

    /// <summary>
    /// Ends the lease: a running job whose every item is settled becomes completed (retained until
    /// <paramref name="retention"/> from now); claimed items of a cancelled job that no worker took are marked cancelled.
    /// Returns the job's status afterwards, or null if <paramref name="owner"/> no longer held the lease.
    /// </summary>
    Task<string?> ReleaseAsync(string jobId, string owner, DateTimeOffset now, TimeSpan retention, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> rows after row <paramref name="afterRow"/>, in row order, whatever their state.</summary>
    Task<IReadOnlyList<BulkResultRow>> ReadResultsAsync(string jobId, int afterRow, int limit, CancellationToken cancellationToken);

    /// <summary>Every row after <paramref name="afterRow"/> (up to <paramref name="limit"/>), in row order, from one read snapshot.</summary>
    IAsyncEnumerable<BulkResultRow> StreamResultsAsync(string jobId, int afterRow, int limit, CancellationToken cancellationToken);

    /// <summary>Deletes every finished job whose retention has passed, with its items; returns how many rows (jobs and items) went.</summary>
    Task<int> PurgeAsync(DateTimeOffset now, CancellationToken cancellationToken);
}
