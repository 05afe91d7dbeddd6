using EligibilityGateway.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Tests.Deployment;

/// <summary>The readiness delay is checked at start-up against the host's shutdown timeout, which must cover it.</summary>
public sealed class ShutdownOptionsTests
{
    [Theory]
    [InlineData("00:00:00", 30, true)]
    [InlineData("00:00:05", 20, true)]
    [InlineData("00:00:20", 20, false)]
    [InlineData("00:00:25", 20, false)]
    [InlineData("00:01:01", 120, false)]
    [InlineData("-00:00:01", 30, false)]
    public void ReadinessDelay_MustBeShorterThanTheShutdownTimeout(string delay, int shutdownTimeoutSeconds, bool valid)
    {
        var validator = new ShutdownOptionsValidator(Options.Create(new HostOptions { ShutdownTimeout = TimeSpan.FromSeconds(shutdownTimeoutSeconds) }));

        var result = validator.Validate(null, new ShutdownOptions { ReadinessDelay = TimeSpan.Parse(delay, System.Globalization.CultureInfo.InvariantCulture) });

        result.Succeeded.Should().Be(valid, result.FailureMessage);
        if (!valid)
        {
            result.FailureMessage.Should().Contain("Shutdown:ReadinessDelay");
        }
    }

    [Fact]
    public async Task Gateway_WithAReadinessDelayTheShutdownTimeoutDoesNotCover_DoesNotStart()
    {
        var directory = Directory.CreateTempSubdirectory("egw-shutdown-options-").FullName;
        try
        {
            await using var app = Infrastructure.TestGateway.Build(directory, new Dictionary<string, string?>
            {
                ["Shutdown:ReadinessDelay"] = "00:00:40",
            });

            var start = () => app.StartAsync();

            (await start.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain("must be less than the host's shutdown timeout");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }
}
