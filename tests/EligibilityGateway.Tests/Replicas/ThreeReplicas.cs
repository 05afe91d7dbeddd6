using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Audit;
using EligibilityGateway.Sandbox;
using EligibilityGateway.Security;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.Infrastructure;
using EligibilityGateway.Tests.TrustFramework;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Abstractions;
using MockCentralGovernment;

namespace EligibilityGateway.Tests.Replicas;

/// <summary>
/// Three gateway processes (<c>EligibilityGateway.dll</c>, configured through environment variables as an operator
/// configures a pod) on one PostgreSQL and one Redis, behind HAProxy (round-robin, no stickiness, health-checking
/// <c>/health/ready</c>), with the mock central government beside them. Each replica has its own storage directory
/// and shares only what every pod shares in production: the key directory (a Secret), the PostgreSQL databases (audit
/// log, authorization server, consents, bulk-check jobs) and Redis. The issuer is HAProxy's address, the one public origin.
/// </summary>
public sealed class ThreeReplicas : IAsyncLifetime
{
    /// <summary>The replicas' names, as HAProxy's configuration and its <see cref="HaproxyServer.ServerHeader"/> name them.</summary>
    public static readonly string[] Names = ["r1", "r2", "r3"];

    private readonly string directory = Directory.CreateTempSubdirectory("egw-three-replicas-").FullName;
    private readonly ServiceProcess?[] replicas = new ServiceProcess?[Names.Length];
    private readonly int[] ports = new int[Names.Length];
    private WebApplication? mock;
    private Uri mockAddress = null!;
    private int issuerPort;

    internal RedisServer Redis { get; private set; } = null!;

    internal PostgresServer Postgres { get; private set; } = null!;

    internal HaproxyServer LoadBalancer { get; private set; } = null!;

    /// <summary>The mock central government's address (its <c>/_control/</c> API sets latency and counts calls).</summary>
    internal Uri MockAddress => mockAddress;

    /// <summary>Where clients go: HAProxy's frontend, also the issuer.</summary>
    internal Uri Address => LoadBalancer.Address;

    internal string AuditConnectionString { get; private set; } = null!;

    internal string AuthorizationConnectionString { get; private set; } = null!;

    internal string ConsentsConnectionString { get; private set; } = null!;

    internal string BulkChecksConnectionString { get; private set; } = null!;

    /// <summary>The public audit keys (<c>GET /v1/audit/jwks</c>'s document), to verify checkpoints offline.</summary>
    internal string PublicAuditKeys { get; private set; } = null!;

    private string KeysDirectory => Path.Combine(directory, "keys");

    public async Task InitializeAsync()
    {
        // Keys are provisioned once, as a Secret is, and every replica reads the same files (none generates its own).
        PublicAuditKeys = Encoding.UTF8.GetString(AuditKeySet.Serialize(
            KeyRing.Load(new KeyRingOptions { Directory = KeysDirectory, GenerateIfMissing = true }).PublicAuditKeys()));

        var redis = RedisServer.StartNewAsync();
        var postgres = PostgresServer.StartNewAsync();
        mock = MockGovernmentApplication.Build([], b => b.Configuration["MockCentralGovernment:Population:Size"] = "0");
        mockAddress = await mock.StartOnFreePortAsync();
        Redis = await redis;
        Postgres = await postgres;
        AuditConnectionString = await Postgres.CreateDatabaseAsync("audit");
        AuthorizationConnectionString = await Postgres.CreateDatabaseAsync("authorization");
        ConsentsConnectionString = await Postgres.CreateDatabaseAsync("consents");
        BulkChecksConnectionString = await Postgres.CreateDatabaseAsync("bulk");

        // The issuer is HAProxy's address, so its port is chosen before the replicas start.
        issuerPort = HaproxyServer.FreeLoopbackPort();

        // Started together, as a Deployment's pods are: the schema migrations run under advisory locks.
        var started = await Task.WhenAll(Names.Select((_, i) => StartReplicaProcessAsync(i, port: 0)));
        for (var i = 0; i < Names.Length; i++)
        {
            replicas[i] = started[i];
            ports[i] = started[i].Address.Port;
        }

        LoadBalancer = await HaproxyServer.StartNewAsync(
            Names.Select((name, i) => (name, replicas[i]!.Address)).ToList(), "/health/ready", issuerPort);
    }

    /// <summary>The running process of replica <paramref name="index"/>.</summary>
    internal ServiceProcess Replica(int index) => replicas[index] ?? throw new InvalidOperationException($"{Names[index]} is not running.");

    /// <summary>Starts replica <paramref name="index"/> again on its port (after a kill or a stop) and waits until HAProxy has it UP.</summary>
    internal async Task RestartAsync(int index)
    {
        if (replicas[index] is { HasExited: false })
        {
            throw new InvalidOperationException($"{Names[index]} is still running.");
        }

        if (replicas[index] is { } stopped)
        {
            await stopped.DisposeAsync();
        }

        replicas[index] = null;
        replicas[index] = await StartReplicaProcessAsync(index, ports[index]);
        await LoadBalancer.WaitForStatusAsync(Names[index], "UP", TimeSpan.FromSeconds(15));
    }

    /// <summary>The audit log every replica appends to, opened as <c>egw</c> or an auditor's copy would be read.</summary>
    internal PostgresAuditStore OpenAuditStore() =>
        new(AuditConnectionString, TimeSpan.FromSeconds(5), TimeProvider.System, NullLogger.Instance);

    /// <summary>What every replica wrote, for failure messages.</summary>
    internal string Output() => string.Join("\n", replicas.Select((r, i) => $"--- {Names[i]}:\n{r?.Output}"));

    /// <summary>A client-credentials access token of a sandbox client, obtained through the load balancer.</summary>
    internal async Task<string> TokenAsync(HttpClient http, string client, string scope)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Address, "/connect/token"))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = scope }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{client}:{client}-sandbox-secret")));
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        response.IsSuccessStatusCode.Should().BeTrue(body);
        return JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(replicas.Where(r => r is not null).Select(r => r!.DisposeAsync().AsTask()));
        if (LoadBalancer is not null)
        {
            await LoadBalancer.DisposeAsync();
        }

        if (mock is not null)
        {
            await mock.StopAsync();
            await mock.DisposeAsync();
        }

        if (Redis is not null)
        {
            await Redis.DisposeAsync();
        }

        if (Postgres is not null)
        {
            await Postgres.DisposeAsync();
        }

        Directory.Delete(directory, recursive: true);
    }

    private Task<ServiceProcess> StartReplicaProcessAsync(int index, int port)
    {
        var storage = Directory.CreateDirectory(Path.Combine(directory, Names[index])).FullName;
        var settings = SandboxHost.GatewaySettings(TrustFrameworkFiles.SandboxPath, storage, mockAddress, Redis.Endpoint, AuditConnectionString);
        settings["Keys:Directory"] = KeysDirectory;
        settings["Keys:GenerateIfMissing"] = "false";
        settings["Authorization:Postgres:ConnectionString"] = AuthorizationConnectionString;
        settings["Consents:Postgres:ConnectionString"] = ConsentsConnectionString;
        settings["BulkChecks:Postgres:ConnectionString"] = BulkChecksConnectionString;

        // A short lease, so that a job whose replica is killed is taken over within about two seconds.
        settings["BulkChecks:LeaseDuration"] = "00:00:02";
        settings["BulkChecks:PollInterval"] = "00:00:00.2";

        // No preStop hook here: on SIGTERM a replica keeps answering, unready, until HAProxy's health check (every
        // 500 ms, out after two failures) has taken it out, and only then closes its listeners.
        settings["Shutdown:ReadinessDelay"] = "00:00:03";
        settings["Authorization:Issuer"] = $"http://127.0.0.1:{issuerPort}";
        var environment = settings.ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value);
        return ServiceProcess.StartAsync("EligibilityGateway.dll", environment, port);
    }
}
