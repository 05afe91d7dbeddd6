using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using EligibilityGateway.ProviderContracts;
using Microsoft.AspNetCore.Http.Features;

namespace MockCentralGovernment.Providers;

/// <summary>Either a request body or the problem that explains why it could not be read.</summary>
internal readonly record struct BodyResult<T>(T? Value, IResult? Problem)
    where T : class;

/// <summary>
/// Reads a JSON request body with source-generated metadata. Everything a client can get wrong becomes a 4xx problem
/// that names the field (never a 500 for malformed input).
/// </summary>
internal static class JsonBody
{
    /// <summary>Bodies here are three short fields; 16 KiB matches the gateway's own limit.</summary>
    public const int MaxBytes = 16 * 1024;

    public static async Task<BodyResult<T>> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        var request = context.Request;
        if (!request.HasJsonContentType())
        {
            return new(null, Problems.UnsupportedMediaType());
        }

        if (request.ContentLength > MaxBytes)
        {
            return new(null, Problems.PayloadTooLarge(MaxBytes));
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            // Chunked bodies carry no Content-Length; Kestrel enforces this limit while reading.
            limit.MaxRequestBodySize = MaxBytes;
        }

        try
        {
            var value = await JsonSerializer.DeserializeAsync(request.Body, typeInfo, context.RequestAborted);
            return value is null
                ? new(null, Problems.Validation(new Dictionary<string, string[]> { ["body"] = ["must be a JSON object."] }))
                : new(value, null);
        }
        catch (JsonException ex)
        {
            return new(null, Problems.Validation(new Dictionary<string, string[]> { [FieldOf(ex)] = [Describe(ex)] }));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return new(null, Problems.PayloadTooLarge(MaxBytes));
        }
        catch (BadHttpRequestException)
        {
            return new(null, Problems.Validation(new Dictionary<string, string[]> { ["body"] = ["could not be read."] }));
        }
    }

    // JsonException.Path is a JSONPath such as "$.lastName" or "$['odd name']"; the problem names the field in the
    // same camelCase the contract uses.
    private static string FieldOf(JsonException ex)
    {
        var path = ex.Path;
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return "body";
        }

        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
    }

    // The serializer's own messages name .NET types; callers get a message about the contract instead.
    private static string Describe(JsonException ex) =>
        ex.Message.Contains("could not be mapped", StringComparison.Ordinal)
            ? "is not a field of this request."
            : ex.Path is null or "$"
                ? "must be a JSON object matching the contract."
                : "has the wrong type or is not valid JSON.";
}

/// <summary>
/// The providers' request bodies (the shared wire records) as the mock reads them: with the shared context's options
/// relaxed so that a null or missing field reaches <see cref="Identifiers.TryCreateQuery"/>, which names it, rather than
/// failing the body as a whole; and with unknown members refused, so that a misspelt field is named too.
/// </summary>
internal static class ProviderRequests
{
    private static readonly JsonSerializerOptions Lenient = new(ProviderJsonContext.Default.Options)
    {
        RespectNullableAnnotations = false,
        RespectRequiredConstructorParameters = false,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static JsonTypeInfo<NationalInsuranceLookupRequest> NationalInsuranceLookup { get; } =
        (JsonTypeInfo<NationalInsuranceLookupRequest>)Lenient.GetTypeInfo(typeof(NationalInsuranceLookupRequest));

    public static JsonTypeInfo<AsylumSupportLookupRequest> AsylumSupportLookup { get; } =
        (JsonTypeInfo<AsylumSupportLookupRequest>)Lenient.GetTypeInfo(typeof(AsylumSupportLookupRequest));
}
