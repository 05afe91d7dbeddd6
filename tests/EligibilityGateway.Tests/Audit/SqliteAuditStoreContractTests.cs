using EligibilityGateway.Audit;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace EligibilityGateway.Tests.Audit;

/// <summary>The store contract against the default store: a SQLite file in the log's own directory.</summary>
public sealed class SqliteAuditStoreContractTests : AuditStoreContractTests
{
    private protected override Task<IDictionary<string, string?>> StoreSettingsAsync() =>
        Task.FromResult<IDictionary<string, string?>>(new Dictionary<string, string?>());

    private protected override Task TamperAsync(string tampering, AuditTestLog audit)
    {
        AuditTampering.Apply(tampering, audit.DatabasePath);
        return Task.CompletedTask;
    }

    private protected override Task<IAsyncDisposable> HoldWriteLockAsync(AuditTestLog audit) =>
        Task.FromResult<IAsyncDisposable>(audit.HoldWriteLock());

    private protected override IAuditStore OpenForVerification(AuditTestLog audit)
    {
        SqliteConnection.ClearAllPools();
        return new SqliteAuditStore(audit.DatabasePath, TimeSpan.FromSeconds(5), TimeProvider.System, NullLogger.Instance);
    }
}
