using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace EligibilityGateway.TrustFramework;

/// <summary>
/// The framework in force, with lookup tables built once per load. Immutable: a reload builds a new snapshot and
/// swaps the reference, so a request that read <see cref="TrustFrameworkMonitor.Current"/> once sees one
/// consistent framework from start to end.
/// </summary>
internal sealed class TrustFrameworkSnapshot
{
    private readonly FrozenDictionary<string, Council> councils;
    private readonly FrozenDictionary<string, Council> councilsByClientId;
    private readonly FrozenDictionary<string, Auditor> auditorsByClientId;
    private readonly FrozenDictionary<string, DataProvider> providers;
    private readonly FrozenDictionary<string, Scheme> schemes;
    private readonly FrozenDictionary<(string CouncilId, string SchemeId), Permission> permissions;
    private readonly FrozenDictionary<string, SandboxUser> sandboxUsers;

    public TrustFrameworkSnapshot(TrustFrameworkDefinition definition, string source, string sha256, DateTimeOffset loadedAt)
    {
        Definition = definition;
        Source = source;
        Sha256 = sha256;
        LoadedAt = loadedAt;
        councils = definition.Councils.ToFrozenDictionary(c => c.Id, StringComparer.Ordinal);
        councilsByClientId = definition.Councils.ToFrozenDictionary(c => c.ClientId, StringComparer.Ordinal);
        auditorsByClientId = definition.Auditors.ToFrozenDictionary(a => a.ClientId, StringComparer.Ordinal);
        providers = definition.Providers.ToFrozenDictionary(p => p.Id, StringComparer.Ordinal);
        schemes = definition.Schemes.ToFrozenDictionary(s => s.Id, StringComparer.Ordinal);
        permissions = definition.Permissions.ToFrozenDictionary(p => (p.CouncilId, p.SchemeId));
        sandboxUsers = definition.SandboxUsers.ToFrozenDictionary(u => u.Username, StringComparer.Ordinal);
    }

    public TrustFrameworkDefinition Definition { get; }

    /// <summary>The file as configured, for logs and audit records.</summary>
    public string Source { get; }

    /// <summary>Lower-case hex SHA-256 of the file's bytes.</summary>
    public string Sha256 { get; }

    public DateTimeOffset LoadedAt { get; }

    public bool TryGetCouncil(string councilId, [NotNullWhen(true)] out Council? council) => councils.TryGetValue(councilId, out council);

    /// <summary>The council whose OAuth client id this is (token endpoint).</summary>
    public bool TryGetCouncilByClientId(string clientId, [NotNullWhen(true)] out Council? council) => councilsByClientId.TryGetValue(clientId, out council);

    /// <summary>The auditor whose OAuth client id this is (token endpoint).</summary>
    public bool TryGetAuditorByClientId(string clientId, [NotNullWhen(true)] out Auditor? auditor) => auditorsByClientId.TryGetValue(clientId, out auditor);

    public bool TryGetProvider(string providerId, [NotNullWhen(true)] out DataProvider? provider) => providers.TryGetValue(providerId, out provider);

    public bool TryGetScheme(string schemeId, [NotNullWhen(true)] out Scheme? scheme) => schemes.TryGetValue(schemeId, out scheme);

    public bool TryGetPermission(string councilId, string schemeId, [NotNullWhen(true)] out Permission? permission) =>
        permissions.TryGetValue((councilId, schemeId), out permission);

    /// <summary>A sandbox auditor-page user; never found in a production framework, which cannot declare any.</summary>
    public bool TryGetSandboxUser(string username, [NotNullWhen(true)] out SandboxUser? user) => sandboxUsers.TryGetValue(username, out user);
}
