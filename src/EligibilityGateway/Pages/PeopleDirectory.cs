using System.Collections.Concurrent;
using EligibilityGateway.Checks;
using EligibilityGateway.TrustFramework;

namespace EligibilityGateway.Pages;

/// <summary>
/// Who may sign in to the gateway's pages, and who a signed-in person is now. The pages depend on this interface
/// alone: the sandbox implementation reads the trust framework's local accounts; a production deployment would
/// add one that takes people from a federated OpenID Connect provider (README.md, "Federated sign-in").
/// </summary>
internal interface IPeopleDirectory
{
    /// <summary>
    /// Checks a username and password. An unknown username costs the same as a wrong password and gives the same
    /// answer, so neither timing nor response tells which usernames exist.
    /// </summary>
    /// <returns>The person, or null when the pair does not match.</returns>
    Person? VerifyPassword(string username, string password);

    /// <summary>
    /// The person behind a signed-in session, looked up afresh on every request so that a person removed from
    /// the directory (or whose role or scope changed) stops being signed in as they were.
    /// </summary>
    Person? Find(string subject);
}

/// <summary>Someone signed in to the pages. <see cref="Subject"/> is the stable, non-personal key a session holds.</summary>
internal abstract record Person(string Subject, string DisplayName)
{
    /// <summary>The role, which is also the name of the authorization policy pages of that role require.</summary>
    public abstract string Role { get; }
}

/// <summary>A citizen, with the verified identity a consent they authorise is bound to.</summary>
internal sealed record Citizen(string Subject, string DisplayName, Subject Identity) : Person(Subject, DisplayName)
{
    public override string Role => PagePolicies.Citizen;

    /// <summary>Redacted: the display name and identity are personal data.</summary>
    public override string ToString() => $"Citizen {{ {Subject}, redacted }}";
}

/// <summary>An auditor, who sees the audit trail of the councils in <see cref="Scope"/> (README.md).</summary>
internal sealed record AuditorPerson(string Subject, string DisplayName, AuditScope Scope) : Person(Subject, DisplayName)
{
    public override string Role => PagePolicies.Auditor;
}

/// <summary>
/// The local accounts of a <c>sandbox: true</c> trust framework (<c>sandbox_users</c>): auditors and the test
/// citizens. A production framework cannot declare any, so this directory is empty there.
/// </summary>
internal sealed class SandboxPeopleDirectory(TrustFrameworkMonitor monitor) : IPeopleDirectory
{
    // One decoy hash per iteration count in use, verified when the username is unknown so that the answer takes
    // as long as for a known username with a wrong password.
    private readonly ConcurrentDictionary<int, SecretHash> decoys = new();

    public Person? VerifyPassword(string username, string password)
    {
        ArgumentNullException.ThrowIfNull(username);
        ArgumentNullException.ThrowIfNull(password);
        if (!monitor.TryGetCurrent(out var framework))
        {
            return null;
        }

        if (!framework.TryGetSandboxUser(username, out var user))
        {
            var iterations = framework.Definition.SandboxUsers.IsDefaultOrEmpty
                ? SecretHash.MinimumIterations
                : framework.Definition.SandboxUsers.Max(u => u.PasswordHash.Iterations);
            decoys.GetOrAdd(iterations, n => SecretHash.Create(Guid.NewGuid().ToString("N"), n)).Verify(password);
            return null;
        }

        return user.PasswordHash.Verify(password) ? ToPerson(user) : null;
    }

    public Person? Find(string subject) =>
        monitor.TryGetCurrent(out var framework) && framework.TryGetSandboxUser(subject, out var user) ? ToPerson(user) : null;

    private static Person? ToPerson(SandboxUser user) => user switch
    {
        { Role: SandboxUser.CitizenRole, Identity: { } identity } => new Citizen(user.Username, identity.LastName, identity),
        { Role: SandboxUser.AuditorRole, Scope: { } scope } => new AuditorPerson(user.Username, user.Username, scope),
        _ => null,
    };
}
