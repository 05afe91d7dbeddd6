using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace EligibilityGateway.TrustFramework;

/// <summary>Collects located errors while one file is read; nothing stops at the first error.</summary>
internal sealed class YamlErrorCollector(string file)
{
    private readonly List<TrustFrameworkError> errors = [];

    public string File { get; } = file;

    public IReadOnlyList<TrustFrameworkError> Errors => errors;

    public void Add(YamlNode node, string fieldPath, string message) => Add(node.Start, fieldPath, message);

    public void Add(Mark mark, string fieldPath, string message) =>
        errors.Add(new TrustFrameworkError(File, ToInt(mark.Line), ToInt(mark.Column), fieldPath, message));

    /// <summary>"first defined at line N" for duplicate-id messages.</summary>
    public static string At(YamlNode node) => string.Create(CultureInfo.InvariantCulture, $"line {node.Start.Line}");

    private static int ToInt(long value) => value > int.MaxValue ? int.MaxValue : (int)value;
}

/// <summary>
/// Reads one YAML mapping field by field. Every key asked for is remembered, so <see cref="ReportUnknownKeys"/>
/// can refuse the rest: a misspelt <c>lawful_base</c> must be an error, not a permission with no basis.
/// </summary>
internal sealed class YamlMapReader
{
    private readonly HashSet<string> known = new(StringComparer.Ordinal);
    private readonly YamlErrorCollector errors;

    private YamlMapReader(YamlMappingNode node, string path, YamlErrorCollector errors)
    {
        Node = node;
        Path = path;
        this.errors = errors;
    }

    public YamlMappingNode Node { get; }

    public string Path { get; }

    public static YamlMapReader? From(YamlNode node, string path, YamlErrorCollector errors)
    {
        if (node is YamlMappingNode mapping)
        {
            return new YamlMapReader(mapping, path, errors);
        }

        errors.Add(node, path, $"expected a mapping, got {YamlScalars.Describe(node)}");
        return null;
    }

    public static string Child(string path, string key) => path.Length == 0 ? key : path + "." + key;

    public static string Item(string path, int index) => string.Create(CultureInfo.InvariantCulture, $"{path}[{index}]");

    public string FieldPath(string key) => Child(Path, key);

    /// <summary>The value under <paramref name="key"/>, reporting "required" at this mapping when it is absent.</summary>
    public YamlNode? Get(string key, bool required, string requiredMessage = "required")
    {
        known.Add(key);
        foreach (var (k, v) in Node.Children)
        {
            if (k is YamlScalarNode scalar && string.Equals(scalar.Value, key, StringComparison.Ordinal))
            {
                return v;
            }
        }

        if (required)
        {
            errors.Add(Node, FieldPath(key), requiredMessage);
        }

        return null;
    }

    /// <summary>The key node itself, for errors about a key's presence rather than its value.</summary>
    public YamlNode? KeyNode(string key)
    {
        known.Add(key);
        return Node.Children.Keys.FirstOrDefault(k => k is YamlScalarNode scalar && string.Equals(scalar.Value, key, StringComparison.Ordinal));
    }

    public string? String(string key, bool required, Regex? pattern = null, string? patternHint = null, int maxLength = 500)
    {
        var node = Get(key, required);
        return node is null ? null : ReadString(node, FieldPath(key), errors, pattern, patternHint, maxLength);
    }

    public bool? Boolean(string key, bool required)
    {
        var node = Get(key, required);
        if (node is null)
        {
            return null;
        }

        if (node is YamlScalarNode scalar && YamlScalars.Classify(scalar) == YamlScalarKind.Boolean)
        {
            return scalar.Value!.Equals("true", StringComparison.OrdinalIgnoreCase);
        }

        errors.Add(node, FieldPath(key), $"expected a boolean, got {YamlScalars.Describe(node)}");
        return null;
    }

    public int? Integer(string key, bool required, int minimum, int maximum)
    {
        var node = Get(key, required);
        if (node is null)
        {
            return null;
        }

        if (node is not YamlScalarNode scalar || YamlScalars.Classify(scalar) != YamlScalarKind.Integer || !YamlScalars.IsDecimalInteger(scalar.Value!))
        {
            errors.Add(node, FieldPath(key), $"expected a decimal integer, got {YamlScalars.Describe(node)}");
            return null;
        }

        if (!int.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < minimum || value > maximum)
        {
            errors.Add(node, FieldPath(key), string.Create(CultureInfo.InvariantCulture, $"must be from {minimum} to {maximum}"));
            return null;
        }

        return value;
    }

    /// <summary>An ISO 8601 duration (see <see cref="IsoDuration"/>), which must be positive unless <paramref name="allowZero"/>.</summary>
    public TimeSpan? Duration(string key, bool required, bool allowZero = false)
    {
        var text = String(key, required);
        if (text is null)
        {
            return null;
        }

        if (!IsoDuration.TryParse(text, out var duration))
        {
            errors.Add(Get(key, false)!, FieldPath(key), $"'{text}' is not an ISO 8601 duration such as PT24H or P90D (weeks, days, hours, minutes, seconds; no years or months)");
            return null;
        }

        if (duration.Value <= TimeSpan.Zero && !(allowZero && duration.Value == TimeSpan.Zero))
        {
            errors.Add(Get(key, false)!, FieldPath(key), allowZero ? "must not be negative" : "must be longer than zero");
            return null;
        }

        return duration;
    }

    public YamlMapReader? Mapping(string key, bool required)
    {
        var node = Get(key, required);
        return node is null ? null : From(node, FieldPath(key), errors);
    }

    /// <summary>The items of a sequence with their field paths, or null when absent or not a sequence.</summary>
    public IReadOnlyList<(YamlNode Node, string Path)>? Sequence(string key, bool required, int minimumItems = 0, string? tooFewMessage = null)
    {
        var node = Get(key, required);
        if (node is null)
        {
            return null;
        }

        if (node is not YamlSequenceNode sequence)
        {
            errors.Add(node, FieldPath(key), $"expected a sequence, got {YamlScalars.Describe(node)}");
            return null;
        }

        if (sequence.Children.Count < minimumItems)
        {
            errors.Add(node, FieldPath(key), tooFewMessage ?? string.Create(CultureInfo.InvariantCulture, $"must have at least {minimumItems} item{(minimumItems == 1 ? "" : "s")}"));
        }

        return sequence.Children.Select((item, index) => (item, Item(FieldPath(key), index))).ToList();
    }

    /// <summary>Reports every key that no reader asked for, and keys that are not plain strings.</summary>
    public void ReportUnknownKeys()
    {
        foreach (var key in Node.Children.Keys)
        {
            if (key is not YamlScalarNode scalar || YamlScalars.Classify(scalar) != YamlScalarKind.String)
            {
                errors.Add(key, Path, $"keys must be strings, got {YamlScalars.Describe(key)}");
            }
            else if (!known.Contains(scalar.Value!))
            {
                errors.Add(key, FieldPath(scalar.Value!), "unknown key");
            }
        }
    }

    public static string? ReadString(YamlNode node, string path, YamlErrorCollector errors, Regex? pattern = null, string? patternHint = null, int maxLength = 500)
    {
        if (node is not YamlScalarNode scalar || YamlScalars.Classify(scalar) != YamlScalarKind.String)
        {
            errors.Add(node, path, $"expected a string, got {YamlScalars.Describe(node)}");
            return null;
        }

        var value = scalar.Value ?? "";
        if (value.Length == 0)
        {
            errors.Add(node, path, "must not be empty");
            return null;
        }

        if (value.Length > maxLength)
        {
            errors.Add(node, path, string.Create(CultureInfo.InvariantCulture, $"must be at most {maxLength} characters"));
            return null;
        }

        if (pattern is not null && !pattern.IsMatch(value))
        {
            errors.Add(node, path, patternHint ?? $"must match {pattern}");
            return null;
        }

        return value;
    }
}
