using EligibilityGateway.ServiceDefaults;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MockCentralGovernment.Configuration;
using MockCentralGovernment.Faults;
using MockCentralGovernment.Population;
using MockCentralGovernment.Providers;

namespace MockCentralGovernment;

/// <summary>
/// Builds the mock central government application (DWP, HMRC, Home Office). Program, the sandbox host
/// and the tests all go through here.
/// </summary>
public static class MockGovernmentApplication
{
    /// <summary>The <c>service.name</c> the mock reports as when OTLP export is configured.</summary>
    public const string ServiceName = "mock-central-government";

    /// <param name="args">Command-line arguments (configuration overrides).</param>
    /// <param name="configure">Lets a host (sandbox, tests) add configuration before build.</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(MockGovernmentApplication).Assembly.GetName().Name,
        });

        // Lowest precedence: every appsettings file, environment variable, argument or host override wins.
        ((IConfigurationBuilder)builder.Configuration).Sources.Insert(0, new MemoryConfigurationSource { InitialData = MockGovernmentDefaults.Values });

        builder.Services.AddProblemDetails();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddOptions<MockGovernmentOptions>()
            .BindConfiguration(MockGovernmentOptions.SectionName)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<MockGovernmentOptions>, MockGovernmentOptionsValidator>();
        builder.Services.AddSingleton<CredentialVerifier>();
        builder.Services.AddSingleton<FaultController>();
        builder.Services.AddSingleton<CallLog>();
        builder.Services.AddSingleton<ConcurrencyMeter>();
        builder.Services.AddSingleton<LatencyTimer>();
        builder.Services.AddPopulation();
        configure?.Invoke(builder);
        builder.AddServiceTelemetry(ServiceName, [], []); // nothing unless OTEL_EXPORTER_OTLP_ENDPOINT is set

        var app = builder.Build();
        app.UseServiceTelemetry();
        app.UseExceptionHandler();
        // Framework-made errors (unknown route 404, wrong method 405) answer problem+json like everything else.
        app.UseStatusCodePages();

        app.MapProviderApis();
        app.MapControlApi();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        return app;
    }
}
