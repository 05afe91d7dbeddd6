namespace EligibilityGateway.Tests.Deployment;

/// <summary>The checkout the tests run from: the nearest directory above the test binaries holding the solution file.</summary>
internal static class RepositoryRoot
{
    private static readonly Lazy<string> Root = new(Find);

    public static string Path => Root.Value;

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "EligibilityGateway.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No directory above '{AppContext.BaseDirectory}' contains EligibilityGateway.sln.");
    }
}
