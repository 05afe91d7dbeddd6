namespace EligibilityGateway.TrustFramework;

/// <summary>Configuration section <c>TrustFramework</c>.</summary>
internal sealed class TrustFrameworkOptions
{
    public const string SectionName = "TrustFramework";

    /// <summary>The YAML file to load and watch.</summary>
    /// <value>Required. A relative path is resolved against the content root.</value>
    public string Path { get; set; } = "";

    /// <summary>How often the file is re-read to look for a new version.</summary>
    /// <value>Default 2 seconds; between 10 ms and 1 hour.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);
}
