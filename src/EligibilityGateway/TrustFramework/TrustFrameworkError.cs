using System.Globalization;

namespace EligibilityGateway.TrustFramework;

/// <summary>One reason a trust framework file was refused, located so an operator can go straight to it.</summary>
/// <param name="File">The file as configured (relative paths stay relative).</param>
/// <param name="Line">1-based line of the offending node.</param>
/// <param name="Column">1-based column of the offending node.</param>
/// <param name="FieldPath">Field path such as <c>permissions[1].lawful_bases[0].legal_reference</c>; empty for the whole file.</param>
/// <param name="Message">What is wrong. Never echoes a secret.</param>
public sealed record TrustFrameworkError(string File, int Line, int Column, string FieldPath, string Message)
{
    /// <summary><c>file:line:column: path: message</c>, the form compilers use so editors can jump to it.</summary>
    public override string ToString() => FieldPath.Length == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{File}:{Line}:{Column}: {Message}")
        : string.Create(CultureInfo.InvariantCulture, $"{File}:{Line}:{Column}: {FieldPath}: {Message}");
}

/// <summary>
/// Thrown when the trust framework cannot be loaded at start-up: the gateway must not serve without one.
/// <see cref="Exception.Message"/> lists every error on its own line.
/// </summary>
public sealed class TrustFrameworkLoadException : Exception
{
    public TrustFrameworkLoadException()
        : base("The trust framework could not be loaded.")
    {
        Errors = [];
    }

    public TrustFrameworkLoadException(string message)
        : base(message)
    {
        Errors = [];
    }

    public TrustFrameworkLoadException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    public TrustFrameworkLoadException(string file, IReadOnlyList<TrustFrameworkError> errors)
        : base(FormatMessage(file, errors))
    {
        Errors = errors;
    }

    /// <summary>Every error found, in file order.</summary>
    public IReadOnlyList<TrustFrameworkError> Errors { get; }

    private static string FormatMessage(string file, IReadOnlyList<TrustFrameworkError> errors) =>
        string.Create(CultureInfo.InvariantCulture, $"Trust framework {file} is invalid ({errors.Count} error{(errors.Count == 1 ? "" : "s")}):")
        + string.Concat(errors.Select(e => "\n" + e));
}
