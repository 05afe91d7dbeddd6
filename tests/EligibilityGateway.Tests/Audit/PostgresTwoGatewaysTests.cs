using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using EligibilityGateway.Audit;
using EligibilityGateway.Security;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;
using EligibilityGateway.Tests.Infrastructure;

namespace EligibilityGateway.Tests.Audit;

/// <summary>
/// Issue 5's acceptance: two gateway processes (the sandbox executable, each with its mock) append to one
/// PostgreSQL concurrently, and the result is one valid chain with no gaps whose check records are exactly the checks
/// the two answered.
/// </summary>
public sealed partial class PostgresTwoGatewaysTests(PostgresServerFixture postgres, ITestOutputHelper output) : IClassFixture<PostgresServerFixture>, IDisposable
{
    private const int ChecksPerGateway = 150;
    private const int ConcurrentCallersPerGateway = 16;

    private readonly string directory = Directory.CreateTempSubdirectory("egw-two-gateways-").FullName;

    [Fact]
    public async Task TwoGatewayProcesses_CheckingConcurrently_WriteOneValidGapFreeChainWithEveryAnsweredCheck()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync("replicas");

        // Replicas share the audit signing key (a Kubernetes Secret in production), so one key set verifies every checkpoint.
        var keys = Path.Combine(directory, "keys");
        var publicKeys = System.Text.Encoding.UTF8.GetString(AuditKeySet.Serialize(
            KeyRing.Load(new KeyRingOptions { Directory = keys, GenerateIfMissing = true }).PublicAuditKeys()));
        var gateways = new List<Process>();
        try
        {
            var addresses = new List<Uri>();
            foreach (var name in new[] { "a", "b" })
            {
                var data = Path.Combine(directory, name);
                CopyDirectory(keys, Path.Combine(data, "keys"));
                var process = StartSandbox("--gateway-url", "http://127.0.0.1:0", "--mock-url", "http://127.0.0.1:0", "--data-dir", data, "--postgres", connectionString);
                gateways.Add(process);
                addresses.Add(await ReadAddressAsync(process, TimeSpan.FromSeconds(60)));
            }

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            var answered = await Task.WhenAll(addresses.Select(address => DriveChecksAsync(http, address)));

            answered.Should().AllSatisfy(count => count.Should().Be(ChecksPerGateway, "every check is answered"));
            await StopAsync(gateways);

            await using var store = new PostgresAuditStore(connectionString, TimeSpan.FromSeconds(5), TimeProvider.System, NullLogger.Instance);
            var result = await AuditVerifier.VerifyAsync(store, new AuditCheckpointVerifier(publicKeys), CancellationToken.None);
            var valid = result.Should().BeOfType<AuditVerification.Valid>().Subject;
            var records = await store.ReadAsync(1, int.MaxValue, CancellationToken.None);
            records.Select(r => r.Sequence).Should().Equal(Enumerable.Range(1, records.Count).Select(n => (long)n), "one gap-free chain");
            valid.Count.Should().Be(records.Count);
            var checks = records.Where(r => r.Entry.EventType == AuditEventTypes.Check).ToList();
            checks.Should().HaveCount(answered.Sum(), "every answered check is recorded, once");
            checks.Select(r => r.Entry.CheckId).Should().OnlyHaveUniqueItems();
            var checkpoints = await store.ReadCheckpointsAsync(CancellationToken.None);
            checkpoints.Should().NotBeEmpty("a gateway signs the unsigned head on shutdown");

            // --postgres puts consents and bulk-check jobs in the same database (their tables have their own names).
            await using (var connection = new Npgsql.NpgsqlConnection(connectionString))
            {
                await connection.OpenAsync();
                await using var tables = new Npgsql.NpgsqlCommand("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE tablename IN ('consents', 'bulk_jobs', 'bulk_items');", connection);
                (await tables.ExecuteScalarAsync()).Should().Be("bulk_items,bulk_jobs,consents");
            }

            output.WriteLine($"answered {string.Join(" + ", answered)} checks; {records.Count} records ({checks.Count} checks), {checkpoints.Count} checkpoints, chain valid to {valid.LastSequence}");
        }
        finally
        {
            await StopAsync(gateways);
        }
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    /// <summary>Checks Smith <see cref="ChecksPerGateway"/> times from several callers at once; returns how many were answered 200.</summary>
    private static async Task<int> DriveChecksAsync(HttpClient http, Uri gateway)
    {
        var token = await SandboxClients.TokenAsync(http, gateway);

        var next = 0;
        var answered = 0;
        await Task.WhenAll(Enumerable.Range(0, ConcurrentCallersPerGateway).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) <= ChecksPerGateway)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway, "/v1/checks"))
                {
                    Content = JsonContent.Create(new
                    {
                        scheme = "free-school-meals",
                        lawfulBasis = "public-task",
                        caseReference = "FSM-2026-000123",
                        subject = new { nationalInsuranceNumber = "AB123456C", lastName = "Smith", dateOfBirth = "1990-01-01" },
                    }),
                };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                using var response = await http.SendAsync(request);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref answered);
                }
            }
        }));
        return answered;
    }

    private static Process StartSandbox(params string[] args)
    {
        // The sandbox assembly is copied beside the tests, with its runtime configuration, by the project reference.
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "EligibilityGateway.Sandbox.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<Uri> ReadAddressAsync(Process process, TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        while (await process.StandardOutput.ReadLineAsync(cancellation.Token) is { } line)
        {
            var match = GatewayLine().Match(line);
            if (match.Success)
            {
                // Keep draining the output, so that a full pipe never blocks the gateway's logging.
                _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null, CancellationToken.None);
                return new Uri(match.Groups[1].Value);
            }
        }

        throw new InvalidOperationException($"The sandbox exited with code {process.ExitCode} without printing its address.");
    }

    /// <summary>Asks each gateway to stop as Kubernetes would (SIGTERM), so that it drains and signs its head; kills it if it does not.</summary>
    private static async Task StopAsync(List<Process> gateways)
    {
        foreach (var process in gateways.Where(p => !p.HasExited))
        {
            using var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await term.WaitForExitAsync();
        }

        foreach (var process in gateways)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }

        foreach (var process in gateways)
        {
            process.Dispose();
        }

        gateways.Clear();
    }

    private static void CopyDirectory(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(destination, Path.GetFileName(file)));
        }
    }

    [GeneratedRegex(@"^\s*Gateway\s+(http://\S+)")]
    private static partial Regex GatewayLine();
}
