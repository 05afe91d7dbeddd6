using System.Text.Json.Nodes;
using Microsoft.OpenApi;

namespace EligibilityGateway.OpenApi;

/// <summary>Small constructors for the schema pieces the transformers write, so that each reads as the rule it states.</summary>
internal static class Schemas
{
    public static OpenApiSchema String(string? description = null, string? format = null) =>
        new() { Type = JsonSchemaType.String, Format = format, Description = description };

    public static OpenApiSchema NullableString(string? description = null, string? format = null) =>
        new() { Type = JsonSchemaType.String | JsonSchemaType.Null, Format = format, Description = description };

    public static OpenApiSchema Integer(string format, string? description = null, int? minimum = null) => new()
    {
        Type = JsonSchemaType.Integer,
        Format = format,
        Description = description,
        Minimum = minimum?.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public static OpenApiSchema Enum(IEnumerable<string> values, string? description = null) => new()
    {
        Type = JsonSchemaType.String,
        Enum = [.. values.Select(v => (JsonNode)JsonValue.Create(v))],
        Description = description,
    };

    public static OpenApiSchema Const(string value, string? description = null) =>
        new() { Type = JsonSchemaType.String, Const = value, Description = description };

    public static OpenApiSchema ArrayOf(IOpenApiSchema items, string? description = null) =>
        new() { Type = JsonSchemaType.Array, Items = items, Description = description };

    /// <summary>An object whose members are exactly <paramref name="properties"/>, those in <paramref name="required"/> always present.</summary>
    public static OpenApiSchema ClosedObject(string? description, IEnumerable<string> required, Dictionary<string, IOpenApiSchema> properties) => new()
    {
        Type = JsonSchemaType.Object,
        Description = description,
        Required = new HashSet<string>(required, StringComparer.Ordinal),
        Properties = properties,
        AdditionalPropertiesAllowed = false,
    };

    public static OpenApiMediaType Json(IOpenApiSchema schema) => new() { Schema = schema };

    public static OpenApiHeader Header(string description, IOpenApiSchema schema, bool required = true) =>
        new() { Description = description, Schema = schema, Required = required };
}
