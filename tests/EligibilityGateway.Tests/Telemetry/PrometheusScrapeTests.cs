using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Sandbox;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.EndToEnd;
using EligibilityGateway.Tests.Infrastructure;
using EligibilityGateway.Tests.TrustFramework;

namespace EligibilityGateway.Tests.Telemetry;

/// <summary>
/// <c>Telemetry:Prometheus:Port</c>: the gateway as its own process answers <c>GET /metrics</c> on that port only,
/// and Debian's <c>prometheus</c>, scraping it, reads the check counter with the values of a known sequence of checks
/// through its HTTP API. No OTLP endpoint is set: scraping needs none.
/// </summary>
public sealed class PrometheusScrapeTests : IAsyncLifetime
{
    private readonly string dataDirectory = Directory.CreateTempSubdirectory("egw-prom-").FullName;
    private readonly int metricsPort = HaproxyServer.FreeLoopbackPort();
    private ServiceProcess mock = null!;
    private ServiceProcess gateway = null!;

    public async Task InitializeAsync()
    {
        mock = await ServiceProcess.StartAsync("MockCentralGovernment.dll", new Dictionary<string, string?> { ["ASPNETCORE_ENVIRONMENT"] = "Production" });
        var settings = new Dictionary<string, string?>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Telemetry__Prometheus__Port"] = metricsPort.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in SandboxHost.GatewaySettings(TrustFrameworkFiles.SandboxPath, dataDirectory, mock.Address, redis: null))
        {
            settings[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        gateway = await ServiceProcess.StartAsync("EligibilityGateway.dll", settings, 0, metricsPort);
    }

    public async Task DisposeAsync()
    {
        await gateway.DisposeAsync();
        await mock.DisposeAsync();
        Directory.Delete(dataDirectory, recursive: true);
    }

    [Fact]
    public async Task Prometheus_ScrapingTheMetricsPort_ReadsTheCheckCounterOfAKnownSequence_AndNoPersonalData()
    {
        using var http = new HttpClient { BaseAddress = gateway.Address };
        var token = await SandboxClients.TokenAsync(http, gateway.Address);
        var answers = new List<HttpStatusCode>();
        foreach (var (subject, basis) in new[] { (Subjects.Smith, "public-task"), (Subjects.Smith, "public-task"), (Subjects.Jones, "public-task"), (Subjects.Smith, "consent") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/checks") { Content = new StringContent(Subjects.Check(subject, basis: basis), Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request);
            answers.Add(response.StatusCode);
        }

        answers.Should().Equal(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Forbidden);

        var metrics = new Uri($"http://127.0.0.1:{metricsPort}/metrics");
        using (var scrape = await http.GetAsync(metrics))
        {
            scrape.StatusCode.Should().Be(HttpStatusCode.OK);
            scrape.Content.Headers.ContentType!.MediaType.Should().Be("text/plain");
            var text = await scrape.Content.ReadAsStringAsync();
            text.Should().Contain("eligibility_gateway_checks_total{").And.Contain("http_server_request_duration_seconds");
            foreach (var personal in Subjects.PersonalData)
            {
                text.Should().NotContain(personal);
            }
        }

        (await StatusAsync(http, new Uri(gateway.Address, "/metrics"))).Should().Be(HttpStatusCode.NotFound, "the public port does not serve metrics");
        (await StatusAsync(http, new Uri(metrics, "/health/ready"))).Should().Be(HttpStatusCode.NotFound, "the metrics port serves nothing else");
        (await StatusAsync(http, new Uri(metrics, "/.well-known/openid-configuration"))).Should().Be(HttpStatusCode.NotFound);

        await using var prometheus = await PrometheusServer.StartAsync(metrics);
        (await prometheus.WaitForAsync("sum(eligibility_gateway_checks_total{decision=\"allow\",outcome=\"eligible\"})", 2)).Should().BeTrue(prometheus.Diagnostics);
        (await prometheus.WaitForAsync("sum(eligibility_gateway_checks_total{decision=\"allow\",served_from=\"cache\"})", 1)).Should().BeTrue(prometheus.Diagnostics);
        (await prometheus.WaitForAsync("sum(eligibility_gateway_checks_total{decision=\"allow\",outcome=\"not-eligible\"})", 1)).Should().BeTrue(prometheus.Diagnostics);
        (await prometheus.WaitForAsync("sum(eligibility_gateway_checks_total{decision=\"deny\"})", 1)).Should().BeTrue(prometheus.Diagnostics);
    }

    [Fact]
    public async Task Gateway_WithAMetricsPortThatIsNotAPort_DoesNotStart()
    {
        var settings = new Dictionary<string, string?> { ["ASPNETCORE_ENVIRONMENT"] = "Production", ["Telemetry__Prometheus__Port"] = "metrics" };
        foreach (var (key, value) in SandboxHost.GatewaySettings(TrustFrameworkFiles.SandboxPath, Path.Combine(dataDirectory, "refused"), mock.Address, redis: null))
        {
            settings[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var start = () => ServiceProcess.StartAsync("EligibilityGateway.dll", settings);

        (await start.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("Telemetry:Prometheus:Port must be a port number from 1 to 65535.");
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient http, Uri uri)
    {
        using var response = await http.GetAsync(uri);
        return response.StatusCode;
    }

    /// <summary>Debian's <c>prometheus</c> on a free loopback port, scraping one target every 250 ms, with its own storage.</summary>
    private sealed class PrometheusServer : IAsyncDisposable
    {
        private readonly Process process;
        private readonly string directory;
        private readonly HttpClient http;
        private readonly StringBuilder output = new();

        private PrometheusServer(Process process, string directory, Uri address)
        {
            this.process = process;
            this.directory = directory;
            http = new HttpClient { BaseAddress = address };
        }

        public string Diagnostics
        {
            get
            {
                lock (output)
                {
                    return output.ToString();
                }
            }
        }

        public static async Task<PrometheusServer> StartAsync(Uri target)
        {
            var directory = Directory.CreateTempSubdirectory("egw-prometheus-").FullName;
            var config = Path.Combine(directory, "prometheus.yml");
            await File.WriteAllTextAsync(config, $"""
                global:
                  scrape_interval: 250ms
                  scrape_timeout: 200ms
                scrape_configs:
                  - job_name: gateway
                    metrics_path: {target.AbsolutePath}
                    static_configs:
                      - targets: ["{target.Authority}"]
                """);
            var port = HaproxyServer.FreeLoopbackPort();
            var start = new ProcessStartInfo("prometheus")
            {
                ArgumentList =
                {
                    $"--config.file={config}",
                    $"--storage.tsdb.path={Path.Combine(directory, "data")}",
                    $"--web.listen-address=127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
                },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            var server = new PrometheusServer(Process.Start(start)!, directory, new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"));
            server.process.OutputDataReceived += (_, e) => server.Append(e.Data);
            server.process.ErrorDataReceived += (_, e) => server.Append(e.Data);
            server.process.BeginOutputReadLine();
            server.process.BeginErrorReadLine();
            return server;
        }

        /// <summary>Queries the HTTP API (<c>/api/v1/query</c>) until <paramref name="query"/> equals <paramref name="expected"/>, for 30 s.</summary>
        public async Task<bool> WaitForAsync(string query, double expected)
        {
            var deadline = Stopwatch.StartNew();
            string? last = null;
            while (deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                try
                {
                    last = await http.GetStringAsync($"/api/v1/query?query={Uri.EscapeDataString(query)}");
                    using var json = JsonDocument.Parse(last);
                    var result = json.RootElement.GetProperty("data").GetProperty("result");
                    if (result.GetArrayLength() == 1
                        && double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture) == expected)
                    {
                        return true;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }

                await Task.Delay(200);
            }

            Append($"last answer to {query}: {last}");
            return false;
        }

        public async ValueTask DisposeAsync()
        {
            http.Dispose();
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
            Directory.Delete(directory, recursive: true);
        }

        private void Append(string? line)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }
}
