namespace MockCentralGovernment;

/// <summary>
/// Builds the mock central-government application (DWP, HMRC, Home Office). Program, the sandbox host
/// and the tests all go through here.
/// </summary>
public static class MockGovernmentApplication
{
    /// <param name="args">Command-line arguments (configuration overrides).</param>
    /// <param name="configure">Lets a host (sandbox, tests) add configuration before build.</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(MockGovernmentApplication).Assembly.GetName().Name,
        });
        builder.Services.AddProblemDetails();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseExceptionHandler();
        return app;
    }
}
