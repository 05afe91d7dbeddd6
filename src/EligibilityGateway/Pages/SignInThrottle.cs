namespace EligibilityGateway.Pages;

/// <summary>
/// Slows password guessing against one username: after <see cref="MaximumFailures"/> failed sign-ins within
/// <see cref="Window"/>, that username is refused until the window has passed, whether or not it exists, so the
/// throttle reveals nothing about which usernames are real. Per process: each replica counts on its own, which
/// multiplies the allowance by the replica count but never blocks a person on every replica at once.
/// Usernames are held in memory only, never logged (a citizen's username is their surname).
/// </summary>
internal sealed class SignInThrottle(TimeProvider clock)
{
    public const int MaximumFailures = 5;

    /// <summary>Bounds memory under a spray of invented usernames; past it, new usernames are not counted.</summary>
    public const int MaximumTrackedUsernames = 10_000;

    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);

    private readonly Dictionary<string, (int Failures, DateTimeOffset WindowStart)> failures = new(StringComparer.Ordinal);
    private readonly Lock gate = new();

    /// <summary>True when <paramref name="username"/> may try a password now.</summary>
    public bool IsAllowed(string username)
    {
        var now = clock.GetUtcNow();
        lock (gate)
        {
            return !failures.TryGetValue(username, out var entry)
                || entry.WindowStart + Window <= now
                || entry.Failures < MaximumFailures;
        }
    }

    public void RecordFailure(string username)
    {
        var now = clock.GetUtcNow();
        lock (gate)
        {
            if (failures.TryGetValue(username, out var entry) && entry.WindowStart + Window > now)
            {
                failures[username] = (entry.Failures + 1, entry.WindowStart);
                return;
            }

            if (failures.Count >= MaximumTrackedUsernames)
            {
                foreach (var expired in failures.Where(f => f.Value.WindowStart + Window <= now).Select(f => f.Key).ToList())
                {
                    failures.Remove(expired);
                }

                if (failures.Count >= MaximumTrackedUsernames)
                {
                    return;
                }
            }

            failures[username] = (1, now);
        }
    }

    /// <summary>A successful sign-in clears the count, so a person's own typing mistakes do not add up.</summary>
    public void RecordSuccess(string username)
    {
        lock (gate)
        {
            failures.Remove(username);
        }
    }
}
