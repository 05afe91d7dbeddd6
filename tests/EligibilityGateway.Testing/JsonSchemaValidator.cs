using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace EligibilityGateway.Testing;

/// <summary>
/// Checks a JSON instance against the subset of JSON Schema 2020-12 that this repository's contracts use
/// (no JSON Schema library restores on the build machines, see DEPENDENCIES.md). Keywords outside the subset
/// make validation fail loudly rather than pass silently, so a contract cannot drift into rules nobody checks.
/// </summary>
public static class JsonSchemaValidator
{
    // Annotation keywords carry no assertion; everything else must be understood.
    private static readonly HashSet<string> Annotations = new(StringComparer.Ordinal)
    {
        "$schema", "$id", "$comment", "$defs", "title", "description", "default", "examples", "deprecated",
        "readOnly", "writeOnly", "discriminator", "xml", "externalDocs", "example", "contentMediaType",
    };

    /// <summary>Validates <paramref name="instance"/> against <paramref name="schema"/>; <c>$ref</c>s resolve inside the schema document.</summary>
    /// <returns>One message per violation, each starting with the JSON pointer of the offending value; empty when valid.</returns>
    public static IReadOnlyList<string> Validate(JsonElement schema, JsonElement instance) => Validate(schema, instance, schema);

    /// <summary>
    /// Validates against <paramref name="schema"/>, resolving <c>$ref</c>s such as <c>#/components/schemas/X</c>
    /// against <paramref name="document"/> (an OpenAPI document, say).
    /// </summary>
    public static IReadOnlyList<string> Validate(JsonElement schema, JsonElement instance, JsonElement document)
    {
        var errors = new List<string>();
        new Walker(document, errors).Check(schema, instance, "");
        return errors;
    }

    /// <summary>Resolves a local reference such as <c>#/components/schemas/Claim</c> inside <paramref name="document"/>.</summary>
    public static JsonElement Resolve(JsonElement document, string reference)
    {
        if (!reference.StartsWith('#'))
        {
            throw new NotSupportedException($"Only local references are supported: '{reference}'.");
        }

        var current = document;
        foreach (var raw in reference[1..].Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var token = Uri.UnescapeDataString(raw).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            if (current.ValueKind == JsonValueKind.Object && current.TryGetProperty(token, out var next))
            {
                current = next;
            }
            else if (current.ValueKind == JsonValueKind.Array && int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < current.GetArrayLength())
            {
                current = current[index];
            }
            else
            {
                throw new InvalidOperationException($"Reference '{reference}' does not resolve.");
            }
        }

        return current;
    }

    private sealed class Walker(JsonElement document, List<string> errors)
    {
        private int _depth;

        public void Check(JsonElement schema, JsonElement value, string path)
        {
            if (schema.ValueKind == JsonValueKind.True)
            {
                return;
            }

            if (schema.ValueKind == JsonValueKind.False)
            {
                Fail(path, "no value is allowed here");
                return;
            }

            if (++_depth > 64)
            {
                throw new InvalidOperationException("Schema recursion deeper than 64 levels.");
            }

            try
            {
                CheckKeywords(schema, value, path);
            }
            finally
            {
                _depth--;
            }
        }

        private void CheckKeywords(JsonElement schema, JsonElement value, string path)
        {
            foreach (var keyword in schema.EnumerateObject())
            {
                var rule = keyword.Value;
                switch (keyword.Name)
                {
                    case "$ref":
                        Check(Resolve(document, rule.GetString()!), value, path);
                        break;
                    case "type":
                        CheckType(rule, value, path);
                        break;
                    case "enum":
                        if (!rule.EnumerateArray().Any(candidate => JsonElement.DeepEquals(candidate, value)))
                        {
                            Fail(path, $"{Show(value)} is not one of {rule.GetRawText()}");
                        }

                        break;
                    case "const":
                        if (!JsonElement.DeepEquals(rule, value))
                        {
                            Fail(path, $"{Show(value)} is not {rule.GetRawText()}");
                        }

                        break;
                    case "properties":
                    case "additionalProperties":
                    case "patternProperties":
                        if (keyword.Name == "properties" || !schema.TryGetProperty("properties", out _))
                        {
                            CheckProperties(schema, value, path);
                        }

                        break;
                    case "required":
                        if (value.ValueKind == JsonValueKind.Object)
                        {
                            foreach (var name in rule.EnumerateArray().Select(n => n.GetString()!))
                            {
                                if (!value.TryGetProperty(name, out _))
                                {
                                    Fail(path, $"required property '{name}' is missing");
                                }
                            }
                        }

                        break;
                    case "minProperties":
                        if (value.ValueKind == JsonValueKind.Object && value.EnumerateObject().Count() < rule.GetInt32())
                        {
                            Fail(path, $"fewer than {rule.GetInt32()} properties");
                        }

                        break;
                    case "items":
                        if (value.ValueKind == JsonValueKind.Array)
                        {
                            var i = 0;
                            foreach (var item in value.EnumerateArray())
                            {
                                Check(rule, item, $"{path}/{i++}");
                            }
                        }

                        break;
                    case "minItems":
                        if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() < rule.GetInt32())
                        {
                            Fail(path, $"fewer than {rule.GetInt32()} items");
                        }

                        break;
                    case "maxItems":
                        if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > rule.GetInt32())
                        {
                            Fail(path, $"more than {rule.GetInt32()} items");
                        }

                        break;
                    case "uniqueItems":
                        if (rule.GetBoolean() && value.ValueKind == JsonValueKind.Array)
                        {
                            var items = value.EnumerateArray().ToList();
                            for (var a = 0; a < items.Count; a++)
                            {
                                for (var b = a + 1; b < items.Count; b++)
                                {
                                    if (JsonElement.DeepEquals(items[a], items[b]))
                                    {
                                        Fail($"{path}/{b}", $"duplicates item {a}");
                                    }
                                }
                            }
                        }

                        break;
                    case "minLength":
                        if (value.ValueKind == JsonValueKind.String && Length(value) < rule.GetInt32())
                        {
                            Fail(path, $"shorter than {rule.GetInt32()} characters");
                        }

                        break;
                    case "maxLength":
                        if (value.ValueKind == JsonValueKind.String && Length(value) > rule.GetInt32())
                        {
                            Fail(path, $"longer than {rule.GetInt32()} characters");
                        }

                        break;
                    case "pattern":
                        if (value.ValueKind == JsonValueKind.String && !Regex.IsMatch(value.GetString()!, rule.GetString()!, RegexOptions.None, TimeSpan.FromSeconds(1)))
                        {
                            Fail(path, $"{Show(value)} does not match {rule.GetString()}");
                        }

                        break;
                    case "format":
                        CheckFormat(rule.GetString()!, value, path);
                        break;
                    case "minimum":
                        if (value.ValueKind == JsonValueKind.Number && value.GetDecimal() < rule.GetDecimal())
                        {
                            Fail(path, $"{Show(value)} is below the minimum {rule.GetRawText()}");
                        }

                        break;
                    case "maximum":
                        if (value.ValueKind == JsonValueKind.Number && value.GetDecimal() > rule.GetDecimal())
                        {
                            Fail(path, $"{Show(value)} is above the maximum {rule.GetRawText()}");
                        }

                        break;
                    case "exclusiveMinimum":
                        if (value.ValueKind == JsonValueKind.Number && value.GetDecimal() <= rule.GetDecimal())
                        {
                            Fail(path, $"{Show(value)} is not above {rule.GetRawText()}");
                        }

                        break;
                    case "exclusiveMaximum":
                        if (value.ValueKind == JsonValueKind.Number && value.GetDecimal() >= rule.GetDecimal())
                        {
                            Fail(path, $"{Show(value)} is not below {rule.GetRawText()}");
                        }

                        break;
                    case "allOf":
                        foreach (var part in rule.EnumerateArray())
                        {
                            Check(part, value, path);
                        }

                        break;
                    case "anyOf":
                        if (!rule.EnumerateArray().Any(part => Passes(part, value, path)))
                        {
                            Fail(path, "matches none of anyOf");
                        }

                        break;
                    case "oneOf":
                        var matches = rule.EnumerateArray().Count(part => Passes(part, value, path));
                        if (matches != 1)
                        {
                            Fail(path, $"matches {matches} of oneOf, not exactly one");
                        }

                        break;
                    case "not":
                        if (Passes(rule, value, path))
                        {
                            Fail(path, "matches a schema it must not");
                        }

                        break;
                    case "if":
                        var branch = Passes(rule, value, path) ? "then" : "else";
                        if (schema.TryGetProperty(branch, out var consequence))
                        {
                            Check(consequence, value, path);
                        }

                        break;
                    case "then":
                    case "else":
                        break;
                    default:
                        if (!Annotations.Contains(keyword.Name) && !keyword.Name.StartsWith("x-", StringComparison.Ordinal))
                        {
                            throw new NotSupportedException($"Schema keyword '{keyword.Name}' at {path} is not supported by this validator.");
                        }

                        break;
                }
            }
        }

        private void CheckProperties(JsonElement schema, JsonElement value, string path)
        {
            if (value.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            schema.TryGetProperty("properties", out var properties);
            schema.TryGetProperty("patternProperties", out var patterns);
            var hasAdditional = schema.TryGetProperty("additionalProperties", out var additional);

            foreach (var property in value.EnumerateObject())
            {
                var childPath = $"{path}/{property.Name}";
                var matched = false;
                if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(property.Name, out var propertySchema))
                {
                    matched = true;
                    Check(propertySchema, property.Value, childPath);
                }

                if (patterns.ValueKind == JsonValueKind.Object)
                {
                    foreach (var pattern in patterns.EnumerateObject())
                    {
                        if (Regex.IsMatch(property.Name, pattern.Name, RegexOptions.None, TimeSpan.FromSeconds(1)))
                        {
                            matched = true;
                            Check(pattern.Value, property.Value, childPath);
                        }
                    }
                }

                if (!matched && hasAdditional)
                {
                    if (additional.ValueKind == JsonValueKind.False)
                    {
                        Fail(childPath, "property is not allowed");
                    }
                    else
                    {
                        Check(additional, property.Value, childPath);
                    }
                }
            }
        }

        private void CheckType(JsonElement rule, JsonElement value, string path)
        {
            var allowed = rule.ValueKind == JsonValueKind.Array
                ? rule.EnumerateArray().Select(t => t.GetString()!).ToArray()
                : [rule.GetString()!];
            if (!allowed.Any(type => IsOfType(type, value)))
            {
                Fail(path, $"{Show(value)} is not of type {string.Join(" or ", allowed)}");
            }
        }

        private static bool IsOfType(string type, JsonElement value) => type switch
        {
            "object" => value.ValueKind == JsonValueKind.Object,
            "array" => value.ValueKind == JsonValueKind.Array,
            "string" => value.ValueKind == JsonValueKind.String,
            "number" => value.ValueKind == JsonValueKind.Number,
            "integer" => value.ValueKind == JsonValueKind.Number && decimal.IsInteger(value.GetDecimal()),
            "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
            "null" => value.ValueKind == JsonValueKind.Null,
            _ => throw new NotSupportedException($"Unknown JSON Schema type '{type}'."),
        };

        private void CheckFormat(string format, JsonElement value, string path)
        {
            if (value.ValueKind != JsonValueKind.String)
            {
                return;
            }

            var text = value.GetString()!;
            var ok = format switch
            {
                "date" => DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
                "date-time" => Regex.IsMatch(text, @"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", RegexOptions.None, TimeSpan.FromSeconds(1))
                    && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
                "uri" => Uri.TryCreate(text, UriKind.Absolute, out _),
                "uri-reference" => Uri.TryCreate(text, UriKind.RelativeOrAbsolute, out _),
                "uuid" => Guid.TryParseExact(text, "D", out _),
                "email" => text.Contains('@', StringComparison.Ordinal),
                "duration" => Regex.IsMatch(text, @"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$", RegexOptions.None, TimeSpan.FromSeconds(1)),
                // Formats such as int32/double/password are OpenAPI annotations, not assertions.
                _ => true,
            };
            if (!ok)
            {
                Fail(path, $"{Show(value)} is not a valid {format}");
            }
        }

        private bool Passes(JsonElement schema, JsonElement value, string path)
        {
            var probe = new List<string>();
            new Walker(document, probe) { _depth = _depth }.Check(schema, value, path);
            return probe.Count == 0;
        }

        private static int Length(JsonElement value) => value.GetString()!.EnumerateRunes().Count();

        private static string Show(JsonElement value)
        {
            var raw = value.GetRawText();
            return raw.Length > 60 ? raw[..57] + "..." : raw;
        }

        private void Fail(string path, string message) => errors.Add($"{(path.Length == 0 ? "/" : path)}: {message}");
    }
}
