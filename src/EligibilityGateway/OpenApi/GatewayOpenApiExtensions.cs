using EligibilityGateway.OpenApi;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace EligibilityGateway;

/// <summary>
/// The gateway's OpenAPI 3.1 document, generated from the running endpoints and served at <see cref="DocumentPath"/>.
/// <c>contracts/gateway.openapi.json</c> is this document as committed; a test keeps the two equal.
/// </summary>
public static class GatewayOpenApiExtensions
{
    /// <summary>Where the document is served.</summary>
    public const string DocumentPath = "/openapi/v1.json";

    /// <summary>The one document the gateway describes.</summary>
    public const string DocumentName = "v1";

    /// <summary>
    /// Generates the document from endpoint metadata, then completes what metadata cannot say: the request and
    /// response rules the check code enforces (<see cref="CheckSchemaTransformer"/>), which problem types each status
    /// carries and who may call (<see cref="ProblemResponseTransformer"/>), and the endpoints mapped as plain request
    /// delegates — the authorization server and health (<see cref="GatewayDocumentTransformer"/>).
    /// </summary>
    public static IServiceCollection AddGatewayOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(DocumentName, options =>
        {
            options.OpenApiVersion = OpenApiSpecVersion.OpenApi3_1;
            options.CreateSchemaReferenceId = type => CheckSchemaTransformer.SchemaName(type.Type) ?? OpenApiOptions.CreateDefaultSchemaReferenceId(type);
            options.AddSchemaTransformer<CheckSchemaTransformer>();
            options.AddOperationTransformer<ProblemResponseTransformer>();
            options.AddDocumentTransformer<GatewayDocumentTransformer>();
        });

    /// <summary>Serves the document at <see cref="DocumentPath"/>, to anyone: it holds nothing secret.</summary>
    public static IEndpointConventionBuilder MapGatewayOpenApi(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapOpenApi(DocumentPath).AllowAnonymous();
}
