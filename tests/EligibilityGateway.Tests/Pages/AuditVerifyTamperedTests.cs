using System.Net;
using EligibilityGateway.Audit;
using EligibilityGateway.Tests.Audit;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace EligibilityGateway.Tests.Pages;

/// <summary>
/// <b>Verify the audit trail</b> on a log altered behind the gateway's back, as someone with write access to the
/// database file would alter it: the page shows the error panel naming the first bad sequence. A gateway of its own,
/// so that the altered log spoils no other test.
/// </summary>
public sealed class AuditVerifyTamperedTests : IAsyncLifetime
{
    private PageGateway gateway = null!;

    public async Task InitializeAsync() => gateway = await PageGateway.StartAsync();

    public async Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        await gateway.DisposeAsync();
    }

    [Fact]
    public async Task Verify_AfterARecordWasChanged_ShowsTheErrorPanelWithTheFirstBadSequence()
    {
        var database = Path.Combine(gateway.DataDirectory, "audit.db");
        await using (var store = new SqliteAuditStore(database, TimeSpan.FromSeconds(30), TimeProvider.System, NullLogger.Instance))
        {
            await store.InitializeAsync(CancellationToken.None);
            await store.AppendBatchAsync([.. Enumerable.Range(1, 10).Select(n => AuditTestLog.Check(n) with { CaseReference = n == 5 ? "TAMPER-ME" : $"KEEP-{n}" })], TimeProvider.System.GetUtcNow(), CancellationToken.None);
        }

        (await gateway.Client.GetAsync("/")).Dispose();
        (await PageGateway.SignInAsync(gateway.Client, "auditor", PageGateway.Password, "/audit")).StatusCode.Should().Be(HttpStatusCode.Redirect);
        var token = await PageGateway.AntiforgeryTokenAsync(gateway.Client, "/audit");
        using (var before = await gateway.Client.PostAsync("/audit?handler=verify", Form(token)))
        {
            (await before.Content.ReadAsStringAsync()).Should().Contain("The audit trail is valid", "the log is intact before it is altered");
        }

        long altered;
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Pooling = false }.ToString()))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                DROP TRIGGER audit_records_never_updated;
                UPDATE audit_records SET case_reference = 'ALTERED' WHERE case_reference = 'TAMPER-ME';
                SELECT sequence FROM audit_records WHERE case_reference = 'ALTERED';
                """;
            altered = (long)command.ExecuteScalar()!;
        }

        using var response = await gateway.Client.PostAsync("/audit?handler=verify", Form(token));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var html = await response.Content.ReadAsStringAsync();
        html.Should().Contain("<h2 class=\"govuk-error-summary__title\">The audit trail has been altered</h2>").And.NotContain("The audit trail is valid");
        html.Should().Contain($"The first record that cannot be trusted is sequence <strong>{altered}</strong>");
    }

    private static FormUrlEncodedContent Form(string token) => new(new Dictionary<string, string> { ["__RequestVerificationToken"] = token });
}
