namespace EligibilityGateway.Sandbox;

/// <summary>Finds the files the sandbox needs, preferring the repository's copies so that edits reload live.</summary>
internal static class SandboxFiles
{
    private const string SandboxFramework = "trust-frameworks/sandbox.yaml";

    /// <summary>
    /// The sandbox trust framework: the repository's file when run from inside a clone (so an edit is
    /// picked up by the gateway's reload), otherwise the copy shipped beside the binary.
    /// </summary>
    public static string FindSandboxTrustFramework(string startDirectory)
    {
        for (var directory = new DirectoryInfo(startDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, SandboxFramework);
            if (File.Exists(candidate) && File.Exists(Path.Combine(directory.FullName, "EligibilityGateway.sln")))
            {
                return candidate;
            }
        }

        return Path.Combine(AppContext.BaseDirectory, SandboxFramework);
    }
}
