using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace EligibilityGateway.TrustFramework;

/// <summary>The outcome of reading one trust framework file: a definition, or every error found in it.</summary>
internal sealed class TrustFrameworkLoadResult
{
    private TrustFrameworkLoadResult(TrustFrameworkDefinition? definition, IReadOnlyList<TrustFrameworkError> errors, string sha256)
    {
        Definition = definition;
        Errors = errors;
        Sha256 = sha256;
    }

    public TrustFrameworkDefinition? Definition { get; }

    /// <summary>Every error, in file order; empty on success.</summary>
    public IReadOnlyList<TrustFrameworkError> Errors { get; }

    /// <summary>Lower-case hex SHA-256 of the bytes read, so an audit record can name exactly which file was in force.</summary>
    public string Sha256 { get; }

    [MemberNotNullWhen(true, nameof(Definition))]
    public bool Succeeded => Definition is not null;

    public static TrustFrameworkLoadResult Success(TrustFrameworkDefinition definition, string sha256) => new(definition, [], sha256);

    public static TrustFrameworkLoadResult Failure(IReadOnlyList<TrustFrameworkError> errors, string sha256) => new(null, errors, sha256);
}

/// <summary>
/// Parses a trust framework with YamlDotNet's representation model, which keeps every node's line and column,
/// and validates it in code against the rules in README.md. All errors are collected, none stops the rest.
/// </summary>
internal static partial class TrustFrameworkLoader
{
    /// <summary>A framework is a few hundred lines; anything near this is not one.</summary>
    public const int MaximumFileBytes = 1024 * 1024;

    /// <summary>Framework-wide cap on any scheme's cache TTL: an answer older than a day is not "real time".</summary>
    public static readonly TimeSpan MaximumCacheTtl = TimeSpan.FromHours(24);

    public static TrustFrameworkLoadResult LoadFile(string fullPath, string displayName)
    {
        byte[] bytes;
        try
        {
            var info = new FileInfo(fullPath);
            if (info.Exists && info.Length > MaximumFileBytes)
            {
                return Failure(displayName, string.Create(CultureInfo.InvariantCulture, $"file is larger than {MaximumFileBytes} bytes"), "");
            }

            bytes = File.ReadAllBytes(fullPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Failure(displayName, $"cannot read the file: {ex.Message}", "");
        }

        return Parse(bytes, displayName);
    }

    public static TrustFrameworkLoadResult Parse(byte[] utf8, string displayName)
    {
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(utf8));
        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(utf8);
        }
        catch (DecoderFallbackException)
        {
            return Failure(displayName, "the file is not valid UTF-8", sha256);
        }

        var errors = new YamlErrorCollector(displayName);
        var stream = new YamlStream();
        var scanner = new Scanner(new StringReader(text.TrimStart('\uFEFF')));
        try
        {
            stream.Load(new Parser(scanner));
        }
        catch (YamlException ex)
        {
            errors.Add(ex.Start, "", "YAML syntax error: " + YamlMessagePrefix().Replace(ex.Message, ""));
            return TrustFrameworkLoadResult.Failure(errors.Errors, sha256);
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet 16 throws this instead of a YamlException for some malformed input (an unclosed flow
            // sequence, say); the scanner's position is where it gave up.
            errors.Add(scanner.CurrentPosition, "", "YAML syntax error: malformed YAML near here");
            return TrustFrameworkLoadResult.Failure(errors.Errors, sha256);
        }

        if (stream.Documents.Count == 0)
        {
            return Failure(displayName, "the file is empty", sha256);
        }

        if (stream.Documents.Count > 1)
        {
            errors.Add(stream.Documents[1].RootNode, "", "expected one YAML document, found " + stream.Documents.Count.ToString(CultureInfo.InvariantCulture));
        }

        var definition = new TrustFrameworkDocumentReader(errors).Read(stream.Documents[0].RootNode);
        if (errors.Errors.Count > 0 || definition is null)
        {
            var ordered = errors.Errors.OrderBy(e => e.Line).ThenBy(e => e.Column).ToList();
            return TrustFrameworkLoadResult.Failure(ordered, sha256);
        }

        return TrustFrameworkLoadResult.Success(definition, sha256);
    }

    private static TrustFrameworkLoadResult Failure(string file, string message, string sha256) =>
        TrustFrameworkLoadResult.Failure([new TrustFrameworkError(file, 1, 1, "", message)], sha256);

    // YamlException.Message starts with "(Line: 3, Col: 5, Idx: 20) - (Line: 3, Col: 6, Idx: 21): "; the location is reported separately.
    [GeneratedRegex(@"^\(Line: [0-9]+, Col: [0-9]+, Idx: [0-9]+\) - \(Line: [0-9]+, Col: [0-9]+, Idx: [0-9]+\): ", RegexOptions.CultureInvariant)]
    private static partial Regex YamlMessagePrefix();
}
