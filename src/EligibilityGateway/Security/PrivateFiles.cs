namespace EligibilityGateway.Security;

/// <summary>
/// Data files are the owner's alone: directories the gateway creates are 0700, the SQLite databases and keys 0600.
/// A database is created empty with that mode before SQLite opens it, because SQLite creates a missing file with
/// the process umask (usually 0644: world-readable audit and consent records) and gives its <c>-wal</c> and
/// <c>-shm</c> files the database file's own mode. Existing files and directories keep the mode their operator gave.
/// </summary>
internal static class PrivateFiles
{
    /// <summary>rwx for the owner only.</summary>
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>rw for the owner only.</summary>
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates <paramref name="path"/> and any missing parent, each 0700; an existing directory is left as it is.</summary>
    public static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }

        Directory.CreateDirectory(path, DirectoryMode);
    }

    /// <summary>Creates <paramref name="path"/> empty, 0600, with its directory, unless it exists already.</summary>
    public static void EnsureFile(string path)
    {
        CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (File.Exists(path))
        {
            return;
        }

        var options = new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode;
        }

        try
        {
            using var _ = new FileStream(path, options);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process (a second replica, the CLI) created it first; its mode was chosen the same way.
        }
    }
}
