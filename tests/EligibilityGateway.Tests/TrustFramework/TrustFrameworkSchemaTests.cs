using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EligibilityGateway.Testing;
using EligibilityGateway.TrustFramework;
using YamlDotNet.RepresentationModel;

namespace EligibilityGateway.Tests.TrustFramework;

/// <summary>contracts/trust-framework.schema.json states the same format the loader enforces.</summary>
public sealed class TrustFrameworkSchemaTests
{
    private static readonly JsonElement Schema = JsonDocument.Parse(File.ReadAllText(TrustFrameworkFiles.SchemaPath)).RootElement;

    [Theory]
    [InlineData("sandbox.yaml")]
    [InlineData("example-england.yaml")]
    public void SampleFramework_ConformsToTheSchema(string file)
    {
        var instance = ToJson(File.ReadAllText(Path.Combine(TrustFrameworkFiles.RepositoryRoot, "trust-frameworks", file)));

        JsonSchemaValidator.Validate(Schema, instance).Should().BeEmpty();
    }

    [Fact]
    public void TestTemplate_ConformsToTheSchema()
    {
        JsonSchemaValidator.Validate(Schema, ToJson(TrustFrameworkFiles.ValidProduction())).Should().BeEmpty();
    }

    public static TheoryData<string, Func<string, string>, string> InvalidFiles => new()
    {
        { "public-task without an ISA reference", yaml => yaml.ReplaceOnce("        isa_reference: ISA-LEEDS-001\n", ""), "permissions[0].lawful_bases[1].isa_reference" },
        { "a misspelt key", yaml => yaml.ReplaceOnce("    purpose: dpv:ServiceProvision\n  - council: camden", "    purpose: dpv:ServiceProvision\n    purpse: x\n  - council: camden"), "permissions[0].purpse" },
        { "a client secret in production", yaml => ReplaceLeedsAuthentication(yaml, "      method: client_secret_basic\n      secret_hash: " + SecretHash.Create("s", SecretHash.MinimumIterations) + "\n"), "councils[0].client_authentication.method" },
        { "a private key member", yaml => yaml.ReplaceOnce("kid: leeds-1\n", "kid: leeds-1\n            d: c2VjcmV0\n"), "councils[0].client_authentication.jwks.keys[0].d" },
        { "a year-long cache", yaml => yaml.ReplaceOnce("cache_ttl: PT24H", "cache_ttl: P1Y"), "schemes[0].cache_ttl" },
        { "a string for a boolean", yaml => yaml.ReplaceOnce("sandbox: false", "sandbox: \"false\""), "sandbox" },
    };

    [Theory]
    [MemberData(nameof(InvalidFiles))]
    public void InvalidFramework_IsRejectedByBothSchemaAndLoader(string because, Func<string, string> breakIt, string fieldPath)
    {
        var yaml = breakIt(TrustFrameworkFiles.ValidProduction());

        JsonSchemaValidator.Validate(Schema, ToJson(yaml)).Should().NotBeEmpty(because);
        TrustFrameworkFiles.Load(yaml).Errors.Should().ContainSingle(because).Which.FieldPath.Should().Be(fieldPath);
    }

    [Fact]
    public void Schema_DurationPattern_IsTheLoadersPattern()
    {
        Schema.GetProperty("$defs").GetProperty("duration").GetProperty("pattern").GetString().Should().Be(IsoDuration.Pattern);
    }

    [Fact]
    public void Schema_IdPattern_IsTheLoadersPattern()
    {
        Schema.GetProperty("$defs").GetProperty("id").GetProperty("pattern").GetString().Should().Be(TrustFrameworkDocumentReader.IdRegex().ToString());
    }

    /// <summary>Converts YAML to JSON resolving scalars as the loader does (YAML 1.2 core schema), so both see the same types.</summary>
    internal static JsonElement ToJson(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var json = Convert(stream.Documents[0].RootNode);
        return JsonDocument.Parse(json?.ToJsonString() ?? "null").RootElement;
    }

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JsonObject(mapping.Children.Select(pair => KeyValuePair.Create(((YamlScalarNode)pair.Key).Value!, Convert(pair.Value)))),
        YamlSequenceNode sequence => new JsonArray(sequence.Children.Select(Convert).ToArray()),
        YamlScalarNode scalar => YamlScalars.Classify(scalar) switch
        {
            YamlScalarKind.Null => null,
            YamlScalarKind.Boolean => JsonValue.Create(scalar.Value!.Equals("true", StringComparison.OrdinalIgnoreCase)),
            YamlScalarKind.Integer when long.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer) => JsonValue.Create(integer),
            YamlScalarKind.Integer or YamlScalarKind.Float => JsonValue.Create(double.Parse(scalar.Value!, CultureInfo.InvariantCulture)),
            _ => JsonValue.Create(scalar.Value),
        },
        _ => throw new NotSupportedException(node.GetType().Name),
    };

    private static string ReplaceLeedsAuthentication(string yaml, string replacement)
    {
        var start = yaml.IndexOf("      method: private_key_jwt\n", StringComparison.Ordinal);
        var end = yaml.IndexOf("    rate_limit:", start, StringComparison.Ordinal);
        return yaml[..start] + replacement + yaml[end..];
    }
}
