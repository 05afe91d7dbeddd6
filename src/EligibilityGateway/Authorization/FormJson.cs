using System.Text.Json;

namespace EligibilityGateway.Authorization;

/// <summary>
/// JSON carried as the value of a form parameter (RFC 9396 §2 <c>authorization_details</c>, and any other JSON-valued
/// parameter). RFC 8259 §8.2 lets JSON text escape an unpaired UTF-16 surrogate (<c>"\ud800"</c>) that no string can
/// hold as Unicode: <see cref="JsonDocument.Parse(string, JsonDocumentOptions)"/> accepts it, and reading that string
/// (<see cref="JsonElement.GetString"/>, <see cref="JsonProperty.Name"/>) throws later, wherever it happens to be read.
/// So every string in the document — member names and values, however deep — is read once here, and a document
/// holding one that is not well-formed is refused as if it were not JSON: the client's error, a 400.
/// </summary>
internal static class FormJson
{
    /// <summary>
    /// Far deeper than any authorization detail needs (RFC 9396's are two or three levels), and well inside the reader's
    /// default of 64, so that a consumer that wraps the document in one more level can still read it.
    /// </summary>
    public const int MaxDepth = 16;

    private static readonly JsonDocumentOptions Options = new() { MaxDepth = MaxDepth };

    /// <summary>The parsed document, which the caller disposes; null when the value is not JSON, nests deeper than <see cref="MaxDepth"/> or holds an ill-formed string.</summary>
    public static JsonDocument? Parse(string value)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(value, Options);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            // ArgumentException: the text itself is not well-formed UTF-16, so it cannot be transcoded to UTF-8.
            return null;
        }

        if (IsWellFormed(document.RootElement))
        {
            return document;
        }

        document.Dispose();
        return null;
    }

    private static bool IsWellFormed(JsonElement element)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    _ = element.GetString();
                    return true;
                case JsonValueKind.Array:
                    return element.EnumerateArray().All(IsWellFormed);
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        _ = property.Name;
                        if (!IsWellFormed(property.Value))
                        {
                            return false;
                        }
                    }

                    return true;
                default:
                    return true;
            }
        }
        catch (InvalidOperationException)
        {
            // "Cannot read invalid UTF-16 JSON text as string": an escaped lone surrogate.
            return false;
        }
    }
}
