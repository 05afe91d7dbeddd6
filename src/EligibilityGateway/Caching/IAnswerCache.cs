using System.Collections.Immutable;
using EligibilityGateway.Checks;

namespace EligibilityGateway.Caching;

/// <summary>
/// Answers obtained from providers, kept for reuse by the same council, for the same scheme, about the same
/// person. Lookups and writes never throw because the cache is unwell: a broken or unreachable store is
/// a miss, and a write it cannot take is skipped. Key derivation, value format and failure rules:
/// <c>Caching/README.md</c>.
/// </summary>
internal interface IAnswerCache
{
    /// <summary>The answer stored under <paramref name="key"/>, or null on a miss (absent, expired, unreadable or store unavailable).</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<CachedAnswer?> GetAsync(CacheKey key, CancellationToken cancellationToken);

    /// <summary>
    /// Stores <paramref name="answer"/> for at most <paramref name="ttl"/> and never past
    /// <see cref="CachedAnswer.ValidUntil"/>; the caller passes min(scheme cache TTL, consent expiry).
    /// Skipped, without an exception, when the TTL is not positive or the store is unavailable.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask SetAsync(CacheKey key, CachedAnswer answer, TimeSpan ttl, CancellationToken cancellationToken);
}

/// <summary>What the cache keeps of a check: the outcome and what the scheme may release, never the subject.</summary>
/// <param name="Outcome">The combined outcome.</param>
/// <param name="ConfirmedBy">Provider ids that said eligible (released only where the scheme releases them).</param>
/// <param name="CheckedAt">When the providers were asked.</param>
/// <param name="ValidUntil">Until when the answer may be served.</param>
internal sealed record CachedAnswer(Outcome Outcome, ImmutableArray<string> ConfirmedBy, DateTimeOffset CheckedAt, DateTimeOffset ValidUntil)
{
    /// <summary>Compares <see cref="ConfirmedBy"/> by content, so that an answer read back equals the one written.</summary>
    public bool Equals(CachedAnswer? other) =>
        other is not null
        && Outcome == other.Outcome
        && CheckedAt == other.CheckedAt
        && ValidUntil == other.ValidUntil
        && ConfirmedBy.AsSpan().SequenceEqual(other.ConfirmedBy.AsSpan());

    public override int GetHashCode() => HashCode.Combine(Outcome, CheckedAt, ValidUntil, ConfirmedBy.Length);
}

/// <summary>
/// An opaque cache key, <c>egw:a1:&lt;base64url HMAC-SHA256&gt;</c>, made only by <see cref="CacheKeys"/>.
/// It names no council, scheme or person.
/// </summary>
internal readonly struct CacheKey : IEquatable<CacheKey>
{
    internal CacheKey(string value) => Value = value;

    /// <summary>The key as stored, e.g. <c>egw:a1:3q2-7w…</c>.</summary>
    public string Value { get; }

    public bool Equals(CacheKey other) => string.Equals(Value, other.Value, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is CacheKey other && Equals(other);

    public override int GetHashCode() => Value is null ? 0 : StringComparer.Ordinal.GetHashCode(Value);

    public override string ToString() => Value;

    public static bool operator ==(CacheKey left, CacheKey right) => left.Equals(right);

    public static bool operator !=(CacheKey left, CacheKey right) => !left.Equals(right);
}
