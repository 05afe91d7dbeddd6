using System.Text.Json;
using System.Text.Json.Nodes;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace EligibilityGateway.Tests.Contracts;

/// <summary>
/// <c>contracts/gateway.openapi.json</c> is the document the running gateway serves at
/// <c>/openapi/v1.json</c>, and it names exactly the operations the gateway routes. Run with
/// <c>UPDATE_CONTRACTS=1</c> to rewrite the committed file from the running code.
/// </summary>
public sealed class GatewayOpenApiTests : IAsyncLifetime
{
    private static readonly string[] DocumentedPrefixes = ["/v1/", "/connect/", "/.well-known/", "/health/"];

    private readonly string dataDirectory = Directory.CreateTempSubdirectory("egw-openapi-").FullName;
    private WebApplication app = null!;
    private Uri address = null!;

    public async Task InitializeAsync()
    {
        app = TestGateway.Build(dataDirectory);
        address = await app.StartOnFreePortAsync();
    }

    public async Task DisposeAsync()
    {
        await app.DisposeAsync();
        Directory.Delete(dataDirectory, recursive: true);
    }

    [Fact]
    public async Task ServedDocument_IsTheCommittedContract()
    {
        using var http = new HttpClient();
        var served = await http.GetStringAsync(new Uri(address, GatewayOpenApiExtensions.DocumentPath));
        var servedNode = JsonNode.Parse(served)!;

        if (GatewayContract.UpdateRequested)
        {
            GatewayContract.Write(servedNode);
        }

        var committed = JsonNode.Parse(File.ReadAllText(GatewayContract.Path))!;
        JsonNode.DeepEquals(servedNode, committed).Should().BeTrue(
            $"{GatewayContract.RelativePath} must be the document the gateway serves at {GatewayOpenApiExtensions.DocumentPath}; "
            + $"first difference: {GatewayContract.FirstDifference(committed, servedNode, "")}. "
            + $"If the change is intended, regenerate it with `{GatewayContract.RegenerateCommand}` and commit the file");
    }

    [Fact]
    public void CommittedContract_IsPrettyPrintedWithLineFeeds()
    {
        var text = File.ReadAllText(GatewayContract.Path);

        text.Should().NotContain("\r", "the contract is committed with LF line endings");
        text.Should().Be(GatewayContract.Format(JsonNode.Parse(text)!), $"the contract is written as `{GatewayContract.RegenerateCommand}` writes it");
    }

    [Fact]
    public void CommittedContract_DocumentsExactlyTheOperationsTheGatewayRoutes()
    {
        var routed = app.Services.GetServices<EndpointDataSource>()
            .SelectMany(source => source.Endpoints)
            .OfType<RouteEndpoint>()
            // A group prefix and an empty pattern join as "/v1/checks/", which routing matches as "/v1/checks".
            .Select(endpoint => (Path: "/" + endpoint.RoutePattern.RawText!.Trim('/'), Methods: endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods))
            .Where(route => DocumentedPrefixes.Any(prefix => route.Path.StartsWith(prefix, StringComparison.Ordinal) || route.Path + "/" == prefix))
            .ToList();
        var documented = GatewayContract.Operations().ToList();

        // A path mapped for every method (the token endpoint answers other methods with an OAuth 405) must document
        // at least one; a path whose endpoints are restricted to some methods must document exactly those.
        foreach (var path in routed.GroupBy(r => r.Path))
        {
            var forPath = documented.Where(o => o.Path == path.Key).Select(o => o.Method).ToList();
            if (path.Any(r => r.Methods is null))
            {
                forPath.Should().NotBeEmpty($"{path.Key} is routed for every method and must document the one it serves");
            }
            else
            {
                forPath.Should().BeEquivalentTo(path.SelectMany(r => r.Methods!).Distinct(), $"{path.Key} is routed for exactly these methods");
            }
        }

        // The OAuth endpoints other than the consent page are answered by the authorization server's middleware
        // (OpenIddict) before routing, so they are found in its options rather than among the routes.
        var server = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<OpenIddict.Server.OpenIddictServerOptions>>().Value;
        var served = new[] { server.TokenEndpointUris, server.PushedAuthorizationEndpointUris, server.IntrospectionEndpointUris, server.RevocationEndpointUris, server.UserInfoEndpointUris, server.ConfigurationEndpointUris }
            .SelectMany(uris => uris)
            .Select(uri => "/" + uri.OriginalString.Trim('/'))
            .ToList();
        served.Should().NotBeEmpty();
        documented.Select(o => o.Path).Distinct().Should().BeEquivalentTo(routed.Select(r => r.Path).Concat(served).Distinct(), "every documented path is served");
    }
}
