using System.Globalization;
using EligibilityGateway.Authorization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.OpenApi;

namespace EligibilityGateway.OpenApi;

/// <summary>
/// Completes each generated operation from its endpoint's metadata: the security requirement from its scope
/// policy (<c>RequireAuthorization(GatewayScopes.…)</c>), the problem types each declared problem status carries
/// (<see cref="ProblemTypes"/>), and the headers that go with them (<c>WWW-Authenticate</c>, <c>Retry-After</c>).
/// </summary>
internal sealed class ProblemResponseTransformer : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        var scopes = metadata.OfType<IAuthorizeData>().Select(a => a.Policy).OfType<string>().Where(GatewayScopes.Supported.Contains).Distinct().ToList();
        if (scopes.Count > 0)
        {
            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(GatewayDocumentTransformer.BearerScheme, context.Document)] = scopes }];
        }

        foreach (var (key, found) in operation.Responses ?? [])
        {
            if (found is not OpenApiResponse { Content: { } content } response || !content.ContainsKey("application/problem+json"))
            {
                continue;
            }

            var status = int.Parse(key, CultureInfo.InvariantCulture);
            // The Bearer handler's problems come only with operations that require a token (RFC 6750 §3).
            var path = "/" + context.Description.RelativePath;
            var types = ProblemTypes.All
                .Where(p => p.Status == status && (scopes.Count > 0 || !p.FromBearerHandler) && (p.PathPrefix is null || path.StartsWith(p.PathPrefix, StringComparison.Ordinal)))
                .Select(p => p.Type)
                .ToList();
            if (types.Count == 0)
            {
                throw new InvalidOperationException($"{operation.OperationId} declares a {status} problem, but no problem type with that status is in {nameof(ProblemTypes)}.");
            }

            Describe(response, status, types, context.Document!);
        }

        return Task.CompletedTask;
    }

    private static void Describe(OpenApiResponse response, int status, List<string> problemTypes, OpenApiDocument document)
    {
        var component = status == StatusCodes.Status400BadRequest ? "HttpValidationProblemDetails" : "ProblemDetails";
        response.Description = ReasonPhrases.GetReasonPhrase(status) + ". Problem types:\n\n"
            + string.Join("\n", problemTypes.Select(t => $"- `{t}`: {ProblemTypes.Meaning(t)}"));

        // The shared component lists every type; each response narrows `type` to the ones this status can carry.
        response.Content = new Dictionary<string, OpenApiMediaType>
        {
            ["application/problem+json"] = Schemas.Json(new OpenApiSchema
            {
                AllOf =
                [
                    new OpenApiSchemaReference(component, document),
                    new OpenApiSchema { Properties = new Dictionary<string, IOpenApiSchema> { ["type"] = Schemas.Enum(problemTypes) } },
                ],
            }),
        };

        response.Headers ??= new Dictionary<string, IOpenApiHeader>();
        switch (status)
        {
            case StatusCodes.Status401Unauthorized:
                response.Headers["WWW-Authenticate"] = Schemas.Header(
                    "RFC 6750 §3: `Bearer` when no token was sent; `Bearer error=\"invalid_token\", error_description=\"…\"` when one was refused.",
                    Schemas.String());
                break;
            case StatusCodes.Status403Forbidden when problemTypes.Contains(GatewayBearer.InsufficientScopeProblemType):
                response.Headers["WWW-Authenticate"] = Schemas.Header(
                    "With `insufficient-scope` only (RFC 6750 §3.1): `Bearer error=\"insufficient_scope\", scope=\"…\"`.",
                    Schemas.String(),
                    required: false);
                break;
            case StatusCodes.Status429TooManyRequests:
                response.Headers["Retry-After"] = Schemas.Header(
                    "Seconds until the council's window for the scheme turns (RFC 9110 §10.2.3).",
                    Schemas.Integer("int32", minimum: 1));
                break;
        }
    }
}
