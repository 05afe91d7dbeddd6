using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using EligibilityGateway.Authorization;
using EligibilityGateway.Checks;
using EligibilityGateway.Security;

namespace EligibilityGateway.Pages;

/// <summary>
/// The production <see cref="IPeopleDirectory"/>: citizens who signed in with the external OpenID Connect provider
/// (README.md), and — for a <c>sandbox: true</c> framework only, which alone may declare them — the local accounts
/// of <see cref="SandboxPeopleDirectory"/>. Passwords are only ever checked against those local accounts.
/// </summary>
internal sealed class FederatedPeopleDirectory(SandboxPeopleDirectory localAccounts, FederatedCitizens citizens) : IPeopleDirectory
{
    public Person? VerifyPassword(string username, string password) => localAccounts.VerifyPassword(username, password);

    public Person? Find(string subject) =>
        subject.StartsWith(FederatedCitizens.SubjectPrefix, StringComparison.Ordinal) ? citizens.Find(subject) : localAccounts.Find(subject);
}

/// <summary>
/// The citizens signed in through the identity provider, by session subject, for as long as their sign-in lasts.
/// The session cookie holds only the subject, a keyed HMAC of the provider's issuer and <c>sub</c>; the verified
/// identity stays on the server: in this process, and with <c>Cache:Redis</c> set also in Redis, sealed with
/// AES-GCM under a hashed key (<see cref="SharedAuthorizationState"/>), so that every replica finds the citizen.
/// </summary>
internal sealed class FederatedCitizens
{
    /// <summary>Prefix of federated subjects, which no local username can have (usernames have no colon).</summary>
    public const string SubjectPrefix = "fed1:";

    /// <summary>A federated sign-in lasts at most this long, however active the session.</summary>
    public static readonly TimeSpan SignInLifetime = TimeSpan.FromHours(8);

    /// <summary>Sign-ins remembered at once; beyond this the ones closest to ending are forgotten first.</summary>
    public const int Capacity = 100_000;

    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);
    private readonly byte[] subjectKey;
    private readonly TimeProvider timeProvider;
    private readonly SharedAuthorizationState shared;
    private readonly ILogger<FederatedCitizens> logger;

    public FederatedCitizens(KeyRing keyRing, TimeProvider timeProvider, SharedAuthorizationState shared, ILogger<FederatedCitizens> logger)
    {
        ArgumentNullException.ThrowIfNull(keyRing);
        this.shared = shared;
        this.logger = logger;
        // A key of its own, derived from the subject-reference key so that every replica sharing the ring agrees.
        subjectKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, keyRing.SubjectReferenceKey, 32, salt: [], info: "eligibility-gateway/federated-subject/v1"u8.ToArray());
        this.timeProvider = timeProvider;
    }

    /// <summary>
    /// The stable, non-personal session subject of the provider's account <paramref name="providerSubject"/>: the same
    /// person at the same provider always gets the same subject, and nobody without the key can link it to them.
    /// </summary>
    public string SubjectOf(string issuer, string providerSubject)
    {
        var mac = HMACSHA256.HashData(subjectKey, Encoding.UTF8.GetBytes(issuer + "\n" + providerSubject));
        return SubjectPrefix + Base64Url.EncodeToString(mac);
    }

    /// <summary>
    /// Remembers the citizen whom <paramref name="issuer"/> verified as <paramref name="identity"/> for its account
    /// <paramref name="providerSubject"/>, and returns them.
    /// </summary>
    public Citizen Remember(string issuer, string providerSubject, Subject identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var now = timeProvider.GetUtcNow();
        var citizen = new Citizen(SubjectOf(issuer, providerSubject), identity.LastName, identity);
        var entry = new Entry(citizen, now + SignInLifetime);
        if (Shared(database =>
            {
                var key = SharedKey(citizen.Subject);
                return database.StringSet(key, shared.Seal(key, entry), SignInLifetime);
            }))
        {
            return citizen;
        }

        // Without Redis (or while it is down) the sign-in is this replica's alone.
        if (entries.Count >= Capacity)
        {
            Sweep(now);
        }

        entries[citizen.Subject] = entry;
        return citizen;
    }

    /// <summary>The citizen behind <paramref name="subject"/> while their sign-in lasts; null once it has ended.</summary>
    public Citizen? Find(string subject)
    {
        Entry? entry = null;
        if (!Shared(database =>
            {
                var key = SharedKey(subject);
                entry = shared.Unseal<Entry>(key, database.StringGet(key));
                return entry is not null;
            }))
        {
            entries.TryGetValue(subject, out entry);
        }

        if (entry is null || entry.Citizen.Subject != subject)
        {
            return null;
        }

        if (entry.Expires > timeProvider.GetUtcNow())
        {
            return entry.Citizen;
        }

        entries.TryRemove(new KeyValuePair<string, Entry>(subject, entry));
        return null;
    }

    /// <summary>Forgets the citizen on sign-out, on every replica, so that their identity is not kept longer than their session.</summary>
    public void Forget(string subject)
    {
        entries.TryRemove(subject, out _);
        Shared(database => database.KeyDelete(SharedKey(subject)));
    }

    private static string SharedKey(string subject) => SharedAuthorizationState.Key("federated-citizen", subject);

    /// <summary>
    /// Runs a Redis step when Redis is configured (no local copy is kept then, so a sign-out on one replica ends the
    /// session on all); false when Redis is not configured, the step found nothing, or Redis failed (logged).
    /// </summary>
    private bool Shared(Func<StackExchange.Redis.IDatabase, bool> step)
    {
        if (!shared.IsEnabled)
        {
            return false;
        }

        try
        {
            return step(shared.Database);
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            Log.FederatedCitizensUnshared(logger, ex.GetType().Name);
            return false;
        }
    }

    private void Sweep(DateTimeOffset now)
    {
        foreach (var (subject, entry) in entries)
        {
            if (entry.Expires <= now)
            {
                entries.TryRemove(new KeyValuePair<string, Entry>(subject, entry));
            }
        }

        var excess = entries.Count - Capacity + 1;
        if (excess > 0)
        {
            foreach (var (subject, entry) in entries.OrderBy(e => e.Value.Expires).Take(excess).ToList())
            {
                entries.TryRemove(new KeyValuePair<string, Entry>(subject, entry));
            }
        }
    }

    /// <summary>What is kept of a sign-in; serialised (sealed) into Redis when replicas share it.</summary>
    internal sealed record Entry(Citizen Citizen, DateTimeOffset Expires);
}
