using Microsoft.Extensions.Logging;
using MockCentralGovernment.Providers;

namespace MockCentralGovernment.Faults;

/// <summary>
/// <c>/_control/providers</c>: read, replace (PUT), merge (PATCH) and reset (DELETE) each provider's fault settings
/// at runtime; <c>/_control/calls</c>: the recent calls to the providers with their caller headers (GET), and clear
/// them (DELETE) (contracts/providers/control.openapi.json). A change applies to the next request.
/// </summary>
internal static class ControlApi
{
    public static void MapControlApi(this IEndpointRouteBuilder endpoints)
    {
        var control = endpoints.MapGroup("/_control").RequireControlCredential();
        control.MapGet("/calls", (CallLog calls) => TypedResults.Json(new RecordedCallList(calls.Snapshot()), MockJsonContext.Default.RecordedCallList));
        control.MapDelete("/calls", (CallLog calls) =>
        {
            calls.Clear();
            return TypedResults.NoContent();
        });
        control.MapGet("/concurrency", (ConcurrencyMeter meter) => TypedResults.Json(meter.Snapshot(), MockJsonContext.Default.ProviderConcurrencyList));
        control.MapDelete("/concurrency", (ConcurrencyMeter meter) =>
        {
            meter.Reset();
            return TypedResults.NoContent();
        });
        control.MapGet("/providers", (FaultController faults) => List(faults));
        control.MapDelete("/providers", (FaultController faults, ILoggerFactory loggers) =>
        {
            foreach (var provider in ProviderKinds.All)
            {
                Changed(loggers, provider, faults.Reset(provider));
            }

            return List(faults);
        });
        control.MapGet("/providers/{provider}", (string provider, FaultController faults) =>
            ProviderKinds.TryParseSlug(provider, out var kind) ? Show(kind, faults.Get(kind)) : Problems.UnknownProvider());
        control.MapPut("/providers/{provider}", (string provider, HttpContext context, FaultController faults, ILoggerFactory loggers) =>
            ChangeAsync(provider, context, faults, loggers, replace: true));
        control.MapPatch("/providers/{provider}", (string provider, HttpContext context, FaultController faults, ILoggerFactory loggers) =>
            ChangeAsync(provider, context, faults, loggers, replace: false));
        control.MapDelete("/providers/{provider}", (string provider, FaultController faults, ILoggerFactory loggers) =>
        {
            if (!ProviderKinds.TryParseSlug(provider, out var kind))
            {
                return Problems.UnknownProvider();
            }

            var settings = faults.Reset(kind);
            Changed(loggers, kind, settings);
            return Show(kind, settings);
        });
    }

    private static async Task<IResult> ChangeAsync(string provider, HttpContext context, FaultController faults, ILoggerFactory loggers, bool replace)
    {
        if (!ProviderKinds.TryParseSlug(provider, out var kind))
        {
            return Problems.UnknownProvider();
        }

        var body = await JsonBody.ReadAsync(context, MockJsonContext.Default.FaultSettingsChange);
        if (body.Value is not { } change)
        {
            return body.Problem!;
        }

        if (Validate(change) is { } errors)
        {
            return Problems.Validation(errors);
        }

        var settings = faults.Update(kind, current => Apply(replace ? faults.Defaults : current, change));
        Changed(loggers, kind, settings);
        return Show(kind, settings);
    }

    private static FaultSettings Apply(FaultSettings baseline, FaultSettingsChange change) => new(
        change.LatencyMilliseconds ?? baseline.LatencyMilliseconds,
        change.JitterMilliseconds ?? baseline.JitterMilliseconds,
        change.ErrorRate ?? baseline.ErrorRate,
        change.TimeoutRate ?? baseline.TimeoutRate,
        change.TimeoutHoldMilliseconds ?? baseline.TimeoutHoldMilliseconds,
        change.Outage ?? baseline.Outage);

    private static Dictionary<string, string[]>? Validate(FaultSettingsChange change)
    {
        Dictionary<string, string[]>? errors = null;
        CheckMilliseconds(change.LatencyMilliseconds, "latencyMilliseconds", ref errors);
        CheckMilliseconds(change.JitterMilliseconds, "jitterMilliseconds", ref errors);
        CheckMilliseconds(change.TimeoutHoldMilliseconds, "timeoutHoldMilliseconds", ref errors);
        CheckRate(change.ErrorRate, "errorRate", ref errors);
        CheckRate(change.TimeoutRate, "timeoutRate", ref errors);
        return errors;

        static void CheckMilliseconds(int? value, string field, ref Dictionary<string, string[]>? errors)
        {
            if (value is < 0 or > FaultSettings.MaxMilliseconds)
            {
                (errors ??= new(StringComparer.Ordinal))[field] = [$"must be between 0 and {FaultSettings.MaxMilliseconds}."];
            }
        }

        static void CheckRate(double? value, string field, ref Dictionary<string, string[]>? errors)
        {
            // NaN fails both comparisons, so test for the valid range rather than the invalid one.
            if (value is { } rate && !(rate >= 0 && rate <= 1))
            {
                (errors ??= new(StringComparer.Ordinal))[field] = ["must be between 0 and 1."];
            }
        }
    }

    private static IResult List(FaultController faults) => TypedResults.Json(
        new ProviderFaultSettingsList([.. ProviderKinds.All.Select(p => ProviderFaultSettings.From(p, faults.Get(p)))]),
        MockJsonContext.Default.ProviderFaultSettingsList);

    private static IResult Show(ProviderKind provider, FaultSettings settings) =>
        TypedResults.Json(ProviderFaultSettings.From(provider, settings), MockJsonContext.Default.ProviderFaultSettings);

    private static void Changed(ILoggerFactory loggers, ProviderKind provider, FaultSettings s) =>
        Log.FaultSettingsChanged(loggers.CreateLogger(typeof(ControlApi).FullName!), provider.Slug(), s.LatencyMilliseconds, s.JitterMilliseconds, s.ErrorRate, s.TimeoutRate, s.TimeoutHoldMilliseconds, s.Outage);
}
