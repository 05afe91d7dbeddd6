using EligibilityGateway.Sandbox;

namespace EligibilityGateway.Tests.Sandbox;

public sealed class SandboxOptionsTests
{
    [Fact]
    public void Parse_WithNoArguments_UsesTheDocumentedDefaults()
    {
        var parsed = SandboxOptions.Parse([]);

        parsed.Error.Should().BeNull();
        parsed.Options.GatewayUrl.Should().Be(new Uri("http://127.0.0.1:8080"));
        parsed.Options.MockUrl.Should().Be(new Uri("http://127.0.0.1:8081"));
        parsed.Options.DataDirectory.Should().Be(".sandbox");
        parsed.Options.Redis.Should().BeNull();
        parsed.Options.Postgres.Should().BeNull();
    }

    [Fact]
    public void Parse_WithEveryOption_OverridesEachDefault()
    {
        var parsed = SandboxOptions.Parse([
            "--gateway-url", "http://127.0.0.1:9080", "--mock-url", "http://127.0.0.1:9081",
            "--data-dir", "/tmp/egw", "--redis", "localhost:6390", "--trust-framework", "x.yaml",
            "--postgres", "Host=127.0.0.1;Port=5433;Database=audit;Username=gateway"]);

        parsed.Error.Should().BeNull();
        parsed.Options.Should().BeEquivalentTo(new SandboxOptions
        {
            GatewayUrl = new Uri("http://127.0.0.1:9080"),
            MockUrl = new Uri("http://127.0.0.1:9081"),
            DataDirectory = "/tmp/egw",
            Redis = "localhost:6390",
            TrustFrameworkPath = "x.yaml",
            Postgres = "Host=127.0.0.1;Port=5433;Database=audit;Username=gateway",
        });
    }

    [Theory]
    [InlineData(new[] { "--redis", "localhost" }, "--redis must be host:port")]
    [InlineData(new[] { "--redis", "localhost:0" }, "--redis must be host:port")]
    [InlineData(new[] { "--gateway-url", "127.0.0.1:8080" }, "--gateway-url must be an absolute http URL")]
    [InlineData(new[] { "--mock-url", "https://127.0.0.1:8081/path" }, "--mock-url must be an absolute http URL")]
    [InlineData(new[] { "--data-dir" }, "--data-dir needs a value")]
    [InlineData(new[] { "--port", "1" }, "Unknown option '--port'")]
    [InlineData(new[] { "--postgres", "not a connection string" }, "--postgres must be a PostgreSQL connection string")]
    public void Parse_WithAMalformedOption_SaysWhichAndWhy(string[] args, string expected)
    {
        SandboxOptions.Parse(args).Error.Should().StartWith(expected);
    }

    [Fact]
    public void Parse_WithAPostgresConnectionStringWithoutAHost_RefusesItWithoutRepeatingThePassword()
    {
        var error = SandboxOptions.Parse(["--postgres", "Username=gateway;Password=hunter2"]).Error;

        error.Should().StartWith("--postgres must be a PostgreSQL connection string").And.NotContain("hunter2");
    }
}
