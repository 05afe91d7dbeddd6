using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Compression;
using EligibilityGateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EligibilityGateway.Tests.Telemetry;

/// <summary>
/// An OTLP/HTTP receiver on a free loopback port: it accepts <c>/v1/traces</c>, <c>/v1/metrics</c> and
/// <c>/v1/logs</c> in protobuf, as a collector would, and keeps every body it was sent.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<(string Signal, byte[] Body)> received = new();

    private OtlpReceiver(WebApplication app) => this.app = app;

    public Uri Endpoint { get; private set; } = null!;

    /// <summary>Every body received, raw, for scans that must not depend on the decoder.</summary>
    public IReadOnlyList<(string Signal, byte[] Body)> Received => [.. received];

    public IReadOnlyList<OtlpSpan> Spans => [.. Bodies("traces").SelectMany(OtlpProtobuf.Spans)];

    public IReadOnlyList<OtlpMetricPoint> MetricPoints => [.. Bodies("metrics").SelectMany(OtlpProtobuf.MetricPoints)];

    public IReadOnlyList<OtlpLogRecord> Logs => [.. Bodies("logs").SelectMany(OtlpProtobuf.Logs)];

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        foreach (var signal in new[] { "traces", "metrics", "logs" })
        {
            app.MapPost($"/v1/{signal}", async (HttpRequest request) =>
            {
                if (request.ContentType != "application/x-protobuf")
                {
                    return Results.StatusCode(StatusCodes.Status415UnsupportedMediaType);
                }

                var body = request.Body;
                if (request.Headers.ContentEncoding == "gzip")
                {
                    body = new GZipStream(body, CompressionMode.Decompress);
                }

                using var buffer = new MemoryStream();
                await body.CopyToAsync(buffer);
                receiver.received.Enqueue((signal, buffer.ToArray()));
                // An empty Export*ServiceResponse: everything accepted.
                return Results.Bytes([], "application/x-protobuf");
            });
        }

        receiver.Endpoint = await app.StartOnFreePortAsync();
        return receiver;
    }

    /// <summary>Waits until <paramref name="condition"/> holds of what has been received, or fails after <paramref name="timeout"/>.</summary>
    public async Task WaitForAsync(Func<OtlpReceiver, bool> condition, TimeSpan timeout, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!condition(this))
        {
            if (waited.Elapsed > timeout)
            {
                throw new TimeoutException($"The receiver did not get {what} within {timeout.TotalSeconds} s.");
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    private IEnumerable<byte[]> Bodies(string signal) => received.Where(r => r.Signal == signal).Select(r => r.Body);
}
