using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace EligibilityGateway.TrustFramework;

/// <summary>The type a YAML 1.2 scalar resolves to under the core schema.</summary>
internal enum YamlScalarKind
{
    Null,
    Boolean,
    Integer,
    Float,
    String,
}

/// <summary>
/// Resolves scalars as the YAML 1.2 core schema does (§10.3.2), so that <c>version: 1.0</c> is a number and
/// <c>sandbox: "true"</c> a string, exactly as a YAML-to-JSON conversion checked against the JSON Schema sees them.
/// </summary>
internal static partial class YamlScalars
{
    private const string StringTag = "tag:yaml.org,2002:str";

    public static YamlScalarKind Classify(YamlScalarNode node)
    {
        // Quoted and block scalars are always strings; so is anything tagged !!str.
        if (node.Style != ScalarStyle.Plain || (!node.Tag.IsEmpty && node.Tag.Value == StringTag))
        {
            return YamlScalarKind.String;
        }

        var value = node.Value ?? "";
        if (NullRegex().IsMatch(value))
        {
            return YamlScalarKind.Null;
        }

        if (BooleanRegex().IsMatch(value))
        {
            return YamlScalarKind.Boolean;
        }

        if (IntegerRegex().IsMatch(value))
        {
            return YamlScalarKind.Integer;
        }

        return FloatRegex().IsMatch(value) ? YamlScalarKind.Float : YamlScalarKind.String;
    }

    /// <summary>True for an integer written in decimal (octal and hex forms are integers too, but the trust framework does not accept them).</summary>
    public static bool IsDecimalInteger(string value) => DecimalRegex().IsMatch(value);

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a sequence",
        YamlScalarNode scalar => Classify(scalar) switch
        {
            YamlScalarKind.Null => "null",
            YamlScalarKind.Boolean => "a boolean",
            YamlScalarKind.Integer => "an integer",
            YamlScalarKind.Float => "a number",
            _ => "a string",
        },
        _ => "an alias",
    };

    [GeneratedRegex("^(?:~|null|Null|NULL|)$", RegexOptions.CultureInvariant)]
    private static partial Regex NullRegex();

    [GeneratedRegex("^(?:true|True|TRUE|false|False|FALSE)$", RegexOptions.CultureInvariant)]
    private static partial Regex BooleanRegex();

    [GeneratedRegex("^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex IntegerRegex();

    [GeneratedRegex("^[-+]?[0-9]+$", RegexOptions.CultureInvariant)]
    private static partial Regex DecimalRegex();

    [GeneratedRegex(@"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", RegexOptions.CultureInvariant)]
    private static partial Regex FloatRegex();
}
