using System.Globalization;

namespace EligibilityGateway.Sandbox;

/// <summary>What the sandbox runs with; every value has an embedded default so that no setup is needed.</summary>
internal sealed record SandboxOptions
{
    /// <value>Default <c>http://127.0.0.1:8080</c>.</value>
    public Uri GatewayUrl { get; init; } = new("http://127.0.0.1:8080");

    /// <value>Default <c>http://127.0.0.1:8081</c>.</value>
    public Uri MockUrl { get; init; } = new("http://127.0.0.1:8081");

    /// <value>Default <c>.sandbox</c> under the current directory.</value>
    public string DataDirectory { get; init; } = ".sandbox";

    /// <value>A <c>host:port</c> of a Redis server, or null for the in-process cache.</value>
    public string? Redis { get; init; }

    /// <value>An Npgsql connection string for the audit store, or null for the SQLite file in the data directory.</value>
    public string? Postgres { get; init; }

    /// <value>The trust framework file; null means <c>trust-frameworks/sandbox.yaml</c> (see <see cref="SandboxFiles"/>).</value>
    public string? TrustFrameworkPath { get; init; }

    public const string Usage = """
        Usage: dotnet run --project src/EligibilityGateway.Sandbox [-- options]

          --gateway-url URL        where the gateway listens     (default http://127.0.0.1:8080)
          --mock-url URL           where the mock listens        (default http://127.0.0.1:8081)
          --data-dir DIR           sandbox storage               (default .sandbox)
          --redis HOST:PORT        use this Redis for the cache  (default: in-process cache)
          --trust-framework FILE   trust framework to load       (default trust-frameworks/sandbox.yaml)
          --postgres CONNECTION    keep the audit log, consents and bulk-check jobs in this PostgreSQL database (Npgsql
                                   connection string; default: audit.db, consents.db and bulk-checks.db in the data
                                   directory)
          --help                   show this text

        Port 0 picks a free port; the addresses in use are printed on start.
        """;

    /// <summary>Parses command-line arguments; an unknown or malformed one is an error, never ignored.</summary>
    public static SandboxArguments Parse(IReadOnlyList<string> args)
    {
        var options = new SandboxOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (name is "--help" or "-h")
            {
                return new SandboxArguments(options, ShowHelp: true, Error: null);
            }

            if (i + 1 >= args.Count)
            {
                return Invalid($"{name} needs a value.");
            }

            var value = args[++i];
            switch (name)
            {
                case "--gateway-url":
                    if (!TryParseHttpUrl(value, out var gateway))
                    {
                        return Invalid($"--gateway-url must be an absolute http URL, such as http://127.0.0.1:8080; got '{value}'.");
                    }

                    options = options with { GatewayUrl = gateway };
                    break;
                case "--mock-url":
                    if (!TryParseHttpUrl(value, out var mock))
                    {
                        return Invalid($"--mock-url must be an absolute http URL, such as http://127.0.0.1:8081; got '{value}'.");
                    }

                    options = options with { MockUrl = mock };
                    break;
                case "--data-dir":
                    options = options with { DataDirectory = value };
                    break;
                case "--redis":
                    if (!TryParseHostPort(value))
                    {
                        return Invalid($"--redis must be host:port, such as 127.0.0.1:6379; got '{value}'.");
                    }

                    options = options with { Redis = value };
                    break;
                case "--postgres":
                    if (!IsConnectionString(value))
                    {
                        // Never echo the value: it may hold a password.
                        return Invalid("--postgres must be a PostgreSQL connection string, such as 'Host=127.0.0.1;Port=5432;Database=audit;Username=gateway'.");
                    }

                    options = options with { Postgres = value };
                    break;
                case "--trust-framework":
                    options = options with { TrustFrameworkPath = value };
                    break;
                default:
                    return Invalid($"Unknown option '{name}'.");
            }
        }

        return new SandboxArguments(options, ShowHelp: false, Error: null);

        static SandboxArguments Invalid(string error) => new(new SandboxOptions(), ShowHelp: false, error);
    }

    private static bool TryParseHttpUrl(string value, out Uri url)
    {
        url = null!;
        if (!Uri.TryCreate(value, UriKind.Absolute, out var parsed) || parsed.Scheme != Uri.UriSchemeHttp || parsed.AbsolutePath != "/")
        {
            return false;
        }

        url = parsed;
        return true;
    }

    private static bool IsConnectionString(string value)
    {
        try
        {
            return !string.IsNullOrWhiteSpace(new Npgsql.NpgsqlConnectionStringBuilder(value).Host);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static bool TryParseHostPort(string value)
    {
        var colon = value.LastIndexOf(':');
        return colon > 0
            && Uri.CheckHostName(value[..colon].Trim('[', ']')) != UriHostNameType.Unknown
            && ushort.TryParse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            && port > 0;
    }
}

/// <summary>The outcome of parsing the command line: options, a request for help, or an error to print.</summary>
internal sealed record SandboxArguments(SandboxOptions Options, bool ShowHelp, string? Error);
