using EligibilityGateway.Authorization;
using EligibilityGateway.Checks;
using EligibilityGateway.Consents;
using EligibilityGateway.Http;
using EligibilityGateway.Pages;
using EligibilityGateway.Security;
using EligibilityGateway.ServiceDefaults;
using EligibilityGateway.Telemetry;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EligibilityGateway;

/// <summary>
/// Builds the gateway web application. <see cref="Program"/>, the sandbox host and the tests all go
/// through here, so that what is tested is what runs.
/// </summary>
public static class GatewayApplication
{
    /// <summary>Health checks with this tag must pass before the gateway reports ready.</summary>
    public const string ReadyTag = "ready";

    /// <param name="args">Command-line arguments (configuration overrides).</param>
    /// <param name="configure">Lets a host (sandbox, tests) add configuration or replace services before build.</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(GatewayApplication).Assembly.GetName().Name,
        });

        // Lowest precedence: appsettings files, environment variables, arguments and host overrides all win.
        ((IConfigurationBuilder)builder.Configuration).Sources.Insert(0, new MemoryConfigurationSource { InitialData = Defaults });

        // One line per capability; each Add* says what it needs. The order matters only where noted.
        builder.Services.AddProblemDetails();
        builder.Services.AddHealthChecks();
        builder.Services.AddGracefulShutdown(builder.Configuration); // first hosted service: readiness turns false before anything stops
        builder.Services.TryAddSingletonTimeProvider();
        builder.Services.AddKeyRing();
        builder.Services.AddTrustFramework(builder.Configuration);
        builder.Services.AddAuditTrail(builder.Configuration);
        builder.Services.AddAuditRetention();
        builder.Services.AddAnswerCache(builder.Configuration);
        builder.Services.AddProviders(builder.Configuration); // after AddTrustFramework: it checks the loaded framework
        builder.Services.AddSharedReplicaState(); // before AddGatewayAuthorizationServer: Redis-backed stores when Cache:Redis is set
        builder.Services.AddGatewayAuthorizationServer(builder.Configuration);
        builder.Services.AddGatewayAuthentication();
        builder.Services.AddGatewayPages(); // after AddGatewayAuthentication, so that the API's Bearer scheme stays the default
        builder.Services.TryAddSingleton<GatewayMetrics>();
        builder.Services.AddSingleton<IAccessTokenIssuanceRecorder, AuditedTokenIssuance>();
        builder.Services.AddConsents(builder.Configuration); // after AddAuditTrail and AddAnswerCache: it records and keys with them
        builder.Services.AddChecks();
        builder.Services.AddBulkChecks(builder.Configuration);
        builder.Services.AddGatewayOpenApi();
        builder.Services.AddPublicOrigin();
        builder.Services.AddExceptionHandler<ClientErrorHandler>(); // after AddGatewayPages, whose handler answers for pages
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);

        configure?.Invoke(builder);
        builder.AddGatewayTelemetry(); // after configure, so that a host's settings decide whether anything is exported

        var app = builder.Build();
        app.UseServiceTelemetry();

        // Keys are read now, so that a missing or malformed one stops start-up instead of failing the first request.
        app.Services.GetRequiredService<KeyRing>();
        app.UsePublicOrigin();
        app.UseApiResponseHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRequestBodyGuard();
        app.UseAuthentication();
        app.UseGatewayPages(); // pages swap the Bearer user for their own session, before authorization
        app.UseAuthorization();
        MapHealth(app);
        app.MapAuthorizationServerEndpoints();
        app.MapCheckEndpoints();
        EligibilityGateway.BulkChecks.BulkCheckEndpoints.MapBulkCheckEndpoints(app);
        app.MapAuditKeysEndpoint();
        EligibilityGateway.Audit.AuditorEndpoints.MapAuditorEndpoints(app);
        app.MapGatewayPages();
        app.MapConsentEndpoints();
        app.MapGatewayOpenApi();
        return app;
    }

    /// <summary>Embedded defaults, so that the gateway runs the same wherever its content root is.</summary>
    private static readonly Dictionary<string, string?> Defaults = new()
    {
        ["Logging:LogLevel:Default"] = "Information",
        // Per-request framework logs add nothing the metrics do not, and cost throughput.
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        // Every statement of the authorization store and every OpenIddict step at Information would swamp the logs; the
        // gateway's own events (Authorization/Log.cs) say what was refused and why.
        ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Warning",
        ["Logging:LogLevel:OpenIddict"] = "Warning",
        // Polly writes two Information lines for every provider call that ends in an HTTP error, a department's 404
        // "not found" included: two lines per live check of a person a department does not know. Retries, timeouts
        // and the breaker are logged at Warning and above, and the gateway's own provider events say the rest.
        ["Logging:LogLevel:Polly"] = "Warning",
    };

    private static void MapHealth(WebApplication app)
    {
        // Liveness says only that the process answers; readiness needs every check tagged "ready".
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
    }

    private static void TryAddSingletonTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(TimeProvider)))
        {
            services.AddSingleton(TimeProvider.System);
        }
    }
}
