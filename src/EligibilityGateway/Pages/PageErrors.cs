namespace EligibilityGateway.Pages;

/// <summary>One problem with one form field; <see cref="FieldId"/> is the id of the input the summary links to.</summary>
internal sealed record FieldError(string FieldId, string Message);

/// <summary>
/// The problems with a submitted form, in the order of the fields, for the GOV.UK error summary
/// (<c>Shared/_ErrorSummary.cshtml</c>) and the message above each field (<c>Shared/_FieldError.cshtml</c>).
/// </summary>
internal sealed class PageErrors
{
    private readonly List<FieldError> errors = [];

    public IReadOnlyList<FieldError> All => errors;

    public bool Any => errors.Count > 0;

    public void Add(string fieldId, string message) => errors.Add(new FieldError(fieldId, message));

    /// <summary>The first problem with <paramref name="fieldId"/>, or null.</summary>
    public FieldError? For(string fieldId) => errors.FirstOrDefault(e => e.FieldId == fieldId);
}

/// <summary>A link in the service navigation; <see cref="IsCurrent"/> marks the page being shown.</summary>
internal sealed record NavigationItem(string Href, string Text, string? CurrentPath)
{
    public bool IsCurrent => string.Equals(Href, CurrentPath, StringComparison.OrdinalIgnoreCase);
}
