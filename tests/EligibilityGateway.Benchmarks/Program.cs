using System.Text.Json.Serialization;

namespace EligibilityGateway.Benchmarks;

/// <summary>
/// The ceiling that <c>scripts/bench.sh</c> measures the gateway against (root README): an ASP.NET Core app on
/// the same Kestrel, with the gateway's logging defaults, answering a small JSON document of the size of a
/// check response and doing nothing else. With <c>audit-append</c>, it measures audit append throughput instead
/// (<see cref="AuditAppendBenchmark"/>). It also accepts and discards OTLP/HTTP exports, for the telemetry phase.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["audit-append", .. var options])
        {
            return await AuditAppendBenchmark.RunAsync(options);
        }

        var builder = WebApplication.CreateBuilder(args);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, BareJsonContext.Default));

        var app = builder.Build();
        var answer = new BareAnswer(
            "0199a3f4-5b6c-7d8e-9f01-23456789abcd", "free-school-meals", "eligible", "2026-11-22T10:00:00Z",
            "2026-11-23T10:00:00Z", "cache", "public-task", null, 1042);
        app.MapPost("/bare", () => TypedResults.Ok(answer));

        // An OTLP/HTTP sink for the telemetry phase: a collector that accepts everything and keeps nothing, so the
        // phase measures what exporting costs the gateway, not what a collector costs.
        foreach (var signal in new[] { "traces", "metrics", "logs" })
        {
            app.MapPost($"/v1/{signal}", async (HttpRequest request) =>
            {
                await request.Body.CopyToAsync(Stream.Null);
                return Results.Bytes([], "application/x-protobuf");
            });
        }

        await app.RunAsync();
        return 0;
    }
}

internal sealed record BareAnswer(
    string CheckId, string Scheme, string Outcome, string CheckedAt, string ValidUntil, string ServedFrom,
    string LawfulBasis, string? ConsentId, long AuditSequence);

[JsonSerializable(typeof(BareAnswer))]
internal sealed partial class BareJsonContext : JsonSerializerContext;
