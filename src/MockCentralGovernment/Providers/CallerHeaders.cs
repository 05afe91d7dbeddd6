using System.Text.RegularExpressions;
using EligibilityGateway.ProviderContracts;
using Microsoft.Extensions.Logging;

namespace MockCentralGovernment.Providers;

/// <summary>
/// Refuses a provider call that does not say who asks and why (contracts/providers/README.md, "Caller headers"):
/// each of <see cref="ProviderCallerHeaders.All"/> must be there once and well-formed, or the answer is 400
/// <c>caller-headers</c> naming every header that is wrong. Runs after the credential check, so an unauthenticated
/// caller learns nothing about what else is expected.
/// </summary>
internal static partial class CallerHeaders
{
    /// <summary>Longest value accepted for an organisation, scheme or purpose.</summary>
    public const int MaxLength = 100;

    public static TBuilder RequireCallerHeaders<TBuilder>(this TBuilder builder, ProviderKind provider)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilterFactory((factoryContext, next) =>
        {
            var logger = factoryContext.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(CallerHeaders).FullName!);
            return invocation =>
            {
                if (Validate(invocation.HttpContext.Request.Headers) is not { } errors)
                {
                    return next(invocation);
                }

                Log.CallerHeadersRejected(logger, provider.Slug(), string.Join(", ", errors.Keys));
                return ValueTask.FromResult<object?>(Problems.CallerHeaders(errors));
            };
        });

    /// <summary>Every caller header that is missing, repeated or malformed, with why; null when all are good.</summary>
    public static Dictionary<string, string[]>? Validate(IHeaderDictionary headers)
    {
        Dictionary<string, string[]>? errors = null;
        foreach (var name in ProviderCallerHeaders.All)
        {
            var values = headers[name];
            var problem = values.Count switch
            {
                0 => "is required.",
                > 1 => "must be sent once.",
                _ when name == ProviderCallerHeaders.CorrelationId => TraceId().IsMatch(values[0] ?? "") && values[0] != new string('0', 32)
                    ? null
                    : "must be a W3C trace id: 32 lower-case hexadecimal digits, not all zero.",
                _ => Identifier().IsMatch(values[0] ?? "")
                    ? null
                    : $"must be 1–{MaxLength} letters, digits, '.', '_', ':' or '-', starting with a letter or digit.",
            };
            if (problem is not null)
            {
                (errors ??= new(StringComparer.Ordinal))[name] = [problem];
            }
        }

        return errors;
    }

    [GeneratedRegex("^[0-9a-f]{32}$", RegexOptions.CultureInvariant)]
    private static partial Regex TraceId();

    // Trust-framework ids (leeds, free-school-meals) and W3C Data Privacy Vocabulary purposes (dpv:ServiceProvision).
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$", RegexOptions.CultureInvariant)]
    private static partial Regex Identifier();
}
