namespace MockCentralGovernment;

/// <summary>The three data holders the mock plays. The numeric values index per-provider arrays.</summary>
internal enum ProviderKind
{
    Dwp = 0,
    Hmrc = 1,
    HomeOffice = 2,
}

internal static class ProviderKinds
{
    public static IReadOnlyList<ProviderKind> All { get; } = [ProviderKind.Dwp, ProviderKind.Hmrc, ProviderKind.HomeOffice];

    /// <summary>The path segment and public name of a provider: <c>dwp</c>, <c>hmrc</c>, <c>home-office</c>.</summary>
    public static string Slug(this ProviderKind provider) => provider switch
    {
        ProviderKind.Dwp => "dwp",
        ProviderKind.Hmrc => "hmrc",
        ProviderKind.HomeOffice => "home-office",
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown provider."),
    };

    public static bool TryParseSlug(string? slug, out ProviderKind provider)
    {
        foreach (var candidate in All)
        {
            if (string.Equals(candidate.Slug(), slug, StringComparison.Ordinal))
            {
                provider = candidate;
                return true;
            }
        }

        provider = default;
        return false;
    }
}
