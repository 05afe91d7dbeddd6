using EligibilityGateway.Audit;
using EligibilityGateway.BulkChecks;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Tests.BulkChecks;

public sealed class BulkCheckOptionsTests
{
    private const string Connection = "Host=127.0.0.1;Port=5432;Database=gateway;Username=gateway;Password=hunter2";

    private static ValidateOptionsResult Validate(string? bulk, string? audit) =>
        new BulkCheckOptionsValidator(Options.Create(new AuditOptions { Postgres = { ConnectionString = audit } }))
            .Validate(null, new BulkCheckOptions { SqlitePath = "/tmp/bulk-checks.db", Postgres = { ConnectionString = bulk } });

    [Fact]
    public void Postgres_WithTheAuditLogInPostgres_IsAccepted() =>
        Validate(Connection, Connection).Succeeded.Should().BeTrue();

    [Fact]
    public void Postgres_WithTheAuditLogInEachReplicasSqlite_IsRefused_BecauseResumptionReadsTheSharedLog() =>
        Validate(Connection, null).FailureMessage.Should().Contain("BulkChecks:Postgres:ConnectionString needs Audit:Postgres:ConnectionString");

    [Fact]
    public void Postgres_WithAMalformedConnectionString_IsRefusedWithoutQuotingIt() =>
        Validate("Password=hunter2;Nonsense", Connection).FailureMessage.Should().Contain("not a valid PostgreSQL connection string").And.NotContain("hunter2");
}
