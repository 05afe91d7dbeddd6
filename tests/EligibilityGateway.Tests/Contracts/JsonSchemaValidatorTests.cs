using System.Text.Json;
using EligibilityGateway.Testing;

namespace EligibilityGateway.Tests.Contracts;

/// <summary>
/// The contract tests are only as strong as the validator behind them, so each keyword it claims to
/// understand is shown to reject a violating value as well as to accept a conforming one.
/// </summary>
public sealed class JsonSchemaValidatorTests
{
    private const string Document = """
        {
          "components": { "schemas": {
            "Claim": {
              "type": "object",
              "required": ["type", "status"],
              "additionalProperties": false,
              "properties": {
                "type": { "enum": ["universal-credit", "pension-credit"] },
                "status": { "const": "in-payment" },
                "earnings": { "type": ["number", "null"], "minimum": 0, "maximum": 100000 },
                "start": { "type": "string", "format": "date" },
                "reference": { "type": "string", "pattern": "^[A-Z]{2}[0-9]+$", "minLength": 5, "maxLength": 6 },
                "tags": { "type": "array", "items": { "type": "string" }, "minItems": 1, "maxItems": 2, "uniqueItems": true }
              }
            },
            "Either": { "oneOf": [ { "type": "integer" }, { "type": "string" } ] },
            "Conditional": {
              "type": "object",
              "if": { "properties": { "basis": { "const": "public-task" } } },
              "then": { "required": ["legalReference"] }
            }
          } }
        }
        """;

    public static TheoryData<string, string, string?> Cases => new()
    {
        { "Claim", """{"type":"universal-credit","status":"in-payment","earnings":512.5,"start":"2026-01-31","reference":"AB123","tags":["a"]}""", null },
        { "Claim", """{"type":"universal-credit"}""", "required property 'status' is missing" },
        { "Claim", """{"type":"universal-credit","status":"in-payment","extra":1}""", "/extra: property is not allowed" },
        { "Claim", """{"type":"housing-benefit","status":"in-payment"}""", "is not one of" },
        { "Claim", """{"type":"universal-credit","status":"ended"}""", "/status: \"ended\" is not \"in-payment\"" },
        { "Claim", """{"type":"universal-credit","status":"in-payment","earnings":"12"}""", "is not of type number or null" },
        { "Claim", """{"type":"universal-credit","status":"in-payment","earnings":-1}""", "below the minimum" },
        { "Claim", """{"type":"universal-credit","status":"in-payment","earnings":100001}""", "above the maximum" },
        { "Claim", """{"type":"universal-credit","status":"in-payment","start":"2026-02-30"}""", "is not a valid date" },
        { "Claim", """{"type":"universal-credit","status":"in-payment","reference":"ab123"}""", "does not match" },
        { "Claim", """{"type":"universal-credit","status":"in-payment","reference":"AB12345"}""", "longer than 6" },
        { "Claim", """{"type":"universal-credit","status":"in-payment","tags":["abcdef"],"reference":"AB12"}""", "shorter than 5" },
        { "Claim", """{"type":"universal-credit","status":"in-payment","tags":[]}""", "fewer than 1 items" },
        { "Claim", """{"type":"universal-credit","status":"in-payment","tags":["a","b","c"]}""", "more than 2 items" },
        { "Claim", """{"type":"universal-credit","status":"in-payment","tags":["a","a"]}""", "duplicates item 0" },
        { "Claim", """{"type":"universal-credit","status":"in-payment","tags":[1]}""", "/tags/0: 1 is not of type string" },
        { "Either", "7", null },
        { "Either", "7.5", "matches 0 of oneOf" },
        { "Conditional", """{"basis":"consent"}""", null },
        { "Conditional", """{"basis":"public-task"}""", "required property 'legalReference' is missing" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Validate_ReportsExactlyTheViolation(string schemaName, string instance, string? expectedError)
    {
        using var document = JsonDocument.Parse(Document);
        using var value = JsonDocument.Parse(instance);
        var schema = JsonSchemaValidator.Resolve(document.RootElement, $"#/components/schemas/{schemaName}");

        var errors = JsonSchemaValidator.Validate(schema, value.RootElement, document.RootElement);

        if (expectedError is null)
        {
            errors.Should().BeEmpty();
        }
        else
        {
            errors.Should().ContainSingle().Which.Should().Contain(expectedError);
        }
    }

    [Fact]
    public void Validate_WhenSchemaUsesAnUnknownKeyword_RefusesRatherThanPassing()
    {
        using var schema = JsonDocument.Parse("""{"type":"string","contentSchema":{}}""");
        using var value = JsonDocument.Parse("\"x\"");

        var validate = () => JsonSchemaValidator.Validate(schema.RootElement, value.RootElement);

        validate.Should().Throw<NotSupportedException>().WithMessage("*contentSchema*");
    }
}
