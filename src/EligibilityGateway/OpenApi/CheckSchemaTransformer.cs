using EligibilityGateway.Audit;
using EligibilityGateway.Checks;
using EligibilityGateway.TrustFramework;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using System.Text.Json.Nodes;

namespace EligibilityGateway.OpenApi;

/// <summary>
/// Writes into the generated check and problem schemas the rules the code enforces and the generator cannot see:
/// the body is read and validated by <see cref="CheckRequestValidator"/>, not by model binding, so every member is
/// nullable to the serializer but required to the API; the response is written by a source-generated context.
/// Patterns describe what the gateway <em>accepts</em>, before it normalises (Checks/README.md, "Validation").
/// </summary>
internal sealed class CheckSchemaTransformer : IOpenApiSchemaTransformer
{
    /// <summary>
    /// NI number as sent: white space anywhere and either case (the gateway removes the one and upper-cases the
    /// other), then two prefix letters — first not D F I Q U V, second not D F I O Q U V, together not BG GB NK KN TN
    /// NT ZZ — six digits and a suffix A to D.
    /// </summary>
    public const string NationalInsuranceNumberPattern =
        @"^(?!\s*(?:[Bb]\s*[Gg]|[Gg]\s*[Bb]|[Nn]\s*[Kk]|[Kk]\s*[Nn]|[Tt]\s*[Nn]|[Nn]\s*[Tt]|[Zz]\s*[Zz]))"
        + @"\s*[A-CEGHJ-PR-TW-Za-ceghj-pr-tw-z]\s*[A-CEGHJ-NPR-TW-Za-ceghj-npr-tw-z](?:\s*[0-9]){6}\s*[A-Da-d]\s*$";

    /// <summary>NASS number as sent: <c>^[0-9]{2}(0[1-9]|1[0-2])[0-9]{5,6}$</c> once white space is removed.</summary>
    public const string NassNumberPattern = @"^\s*[0-9]\s*[0-9]\s*(?:0\s*[1-9]|1\s*[0-2])(?:\s*[0-9]){5,6}\s*$";

    /// <summary>Letters of any script (with their combining marks), hyphens and apostrophes, spaces between; the ends are trimmed.</summary>
    public const string LastNamePattern = @"^\s*[\p{L}\p{M}'’-](?:[\p{L}\p{M}'’ -]*[\p{L}\p{M}'’-])?\s*$";

    /// <summary>Printable characters, not all of them blank: no control, format, private-use, unassigned or line/paragraph separator.</summary>
    public const string CaseReferencePattern = @"^(?!\s*$)[^\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]+$";

    public const string CheckRequestName = "CheckRequest";
    public const string CheckSubjectName = "CheckSubject";

    private const string NiMember = "nationalInsuranceNumber";
    private const string NassMember = "nationalAsylumSeekerServiceNumber";

    private static readonly string[] LawfulBases = [LawfulBasisNames.Consent, LawfulBasisNames.PublicTask];

    /// <summary>Component names for the check types whose C# names say how they are read rather than what they are.</summary>
    public static string? SchemaName(Type type) =>
        type == typeof(CheckRequestBody) ? CheckRequestName
        : type == typeof(SubjectBody) ? CheckSubjectName
        : null;

    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        // Called for each type's schema, also where the type first appears as a member (the subject); string
        // members never match these types, so a type's rules are written once, on its component.
        var type = context.JsonTypeInfo.Type;
        if (type == typeof(CheckRequestBody))
        {
            DescribeRequest(schema);
        }
        else if (type == typeof(SubjectBody))
        {
            DescribeSubject(schema);
        }
        else if (type == typeof(CheckResponse))
        {
            DescribeResponse(schema);
        }
        else if (type == typeof(HttpValidationProblemDetails))
        {
            DescribeProblem(schema, validation: true);
        }
        else if (type == typeof(ProblemDetails))
        {
            DescribeProblem(schema, validation: false);
        }

        return Task.CompletedTask;
    }

    private static void DescribeRequest(OpenApiSchema schema)
    {
        var subject = schema.Properties!["subject"];
        schema.Description = "A question about one person. Read strictly: a member not listed here, a member given twice or "
            + "of the wrong JSON type is refused with a `malformed-json` problem; every other failing rule is reported per field in one "
            + "`validation` problem. At most 16 KiB; the content type must be JSON.";
        schema.Required = new HashSet<string>(["scheme", "caseReference"], StringComparer.Ordinal);
        schema.AdditionalPropertiesAllowed = false;
        schema.Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["scheme"] = new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                Pattern = @"\S",
                Description = "A scheme of the trust framework in force, such as `free-school-meals`; an unknown scheme is a validation error on `scheme`.",
            },
            ["lawfulBasis"] = new OpenApiSchema
            {
                Type = JsonSchemaType.String | JsonSchemaType.Null,
                Enum = [.. LawfulBases.Select(b => (JsonNode)JsonValue.Create(b)), null!],
                Description = "The UK GDPR basis for the check, which the trust framework must allow for this council and scheme. With a "
                    + "client-credentials token it is required, and `consent` is refused with 403 (rule `deny:consent-not-presented`); with a "
                    + "consent-bound token it is `consent` or left out.",
            },
            ["caseReference"] = new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                MinLength = 1,
                MaxLength = 64,
                Pattern = CaseReferencePattern,
                Description = "The council's reference for the case that justifies the check, kept in the audit record: 1 to 64 printable characters.",
            },
            ["subject"] = subject,
        };
    }

    /// <summary>
    /// The generator wraps a nullable member whose type becomes a component as "null or the component" after schema
    /// transformers have run, so the <c>subject</c> member is described here, once the document is whole.
    /// </summary>
    public static void DescribeSubjectMember(OpenApiDocument document)
    {
        if (document.Components?.Schemas?.TryGetValue(CheckRequestName, out var request) is true && request.Properties is { } properties)
        {
            properties["subject"] = new OpenApiSchema
            {
                Description = "With a client-credentials token: the person asked about, required. With a consent-bound token: absent or null, "
                    + "because the check is about the citizen who authorised the consent.",
                OneOf = [new OpenApiSchema { Type = JsonSchemaType.Null }, new OpenApiSchemaReference(CheckSubjectName, document)],
            };
        }
    }

    private static void DescribeSubject(OpenApiSchema schema)
    {
        var absent = new OpenApiSchema
        {
            Type = JsonSchemaType.String | JsonSchemaType.Null,
            Pattern = @"^\s*$",
            Description = "Absent, null or blank: the other identifier is the one given.",
        };

        schema.Description = "The person asked about. Personal data: used for the provider calls and, as a keyed HMAC, in the audit record; never "
            + "logged, cached or returned. Exactly one of `nationalInsuranceNumber` and `nationalAsylumSeekerServiceNumber` is given.";
        schema.Required = new HashSet<string>(["lastName", "dateOfBirth"], StringComparer.Ordinal);
        schema.AdditionalPropertiesAllowed = false;
        schema.Properties = new Dictionary<string, IOpenApiSchema>
        {
            [NiMember] = Schemas.NullableString("National Insurance number, such as `QQ123456C`. White space is removed and letters upper-cased before it is checked."),
            [NassMember] = Schemas.NullableString("National Asylum Support Service number: 9 or 10 digits, the third and fourth a month (01 to 12). White space is removed before it is checked."),
            ["lastName"] = new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                MinLength = 1,
                MaxLength = 100,
                Pattern = LastNamePattern,
                Description = "Surname: letters of any script, spaces, hyphens and apostrophes; at most 100 characters once trimmed and composed (NFC). Matched case-insensitively.",
            },
            ["dateOfBirth"] = new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                Format = "date",
                Pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                Description = "`yyyy-MM-dd`: a real date, not in the future and not before 1900-01-01.",
            },
        };
        schema.OneOf =
        [
            new OpenApiSchema
            {
                Required = new HashSet<string>([NiMember], StringComparer.Ordinal),
                Properties = new Dictionary<string, IOpenApiSchema>
                {
                    [NiMember] = new OpenApiSchema { Type = JsonSchemaType.String, Pattern = NationalInsuranceNumberPattern },
                    [NassMember] = absent,
                },
            },
            new OpenApiSchema
            {
                Required = new HashSet<string>([NassMember], StringComparer.Ordinal),
                Properties = new Dictionary<string, IOpenApiSchema>
                {
                    [NassMember] = new OpenApiSchema { Type = JsonSchemaType.String, Pattern = NassNumberPattern },
                    [NiMember] = absent,
                },
            },
        ];
    }

    private static void DescribeResponse(OpenApiSchema schema)
    {
        schema.Description = "The answer to a check, and what the scheme releases; never personal data.";
        schema.Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["checkId"] = Schemas.String("This check's id; `GET /v1/checks/{checkId}` reads it back.", "uuid"),
            ["scheme"] = Schemas.String("The scheme asked about."),
            ["outcome"] = Schemas.Enum(Enum.GetValues<Outcome>().Select(o => o.ToName()),
                "`eligible` if any provider says so; `not-eligible` if every answer is a definite no and someone found the person; `not-found` if no "
                + "provider knows the person; `undetermined` if a provider failed and none said eligible — a failure is never a no."),
            ["checkedAt"] = Schemas.String("When the providers answered (for a cached answer, when they first answered).", "date-time"),
            ["validUntil"] = Schemas.String("Until when the answer may be relied on (the scheme's cache lifetime); equal to `checkedAt` when `undetermined`.", "date-time"),
            ["servedFrom"] = Schemas.Enum([AuditServedFrom.Live, AuditServedFrom.Cache], "`live` from the providers now, `cache` from an earlier answer to this council for this scheme."),
            ["lawfulBasis"] = Schemas.Enum(LawfulBases, "The lawful basis the check was made under."),
            ["consentId"] = Schemas.NullableString("The consent the check was made under (a consent-bound token); null otherwise."),
            ["auditSequence"] = Schemas.Integer("int64", "The sequence number of the check's audit record, committed before this answer was released.", minimum: 1),
            ["confirmedBy"] = Schemas.ArrayOf(Schemas.String(), "The providers that confirmed eligibility. Present only where the trust framework releases `confirmed-by` for the scheme."),
        };
        schema.Required = new HashSet<string>(schema.Properties.Keys.Where(name => name != "confirmedBy"), StringComparer.Ordinal);
        schema.AdditionalPropertiesAllowed = false;
    }

    private static void DescribeProblem(OpenApiSchema schema, bool validation)
    {
        string[] types = validation ? [CheckProblems.ValidationType, CheckProblems.MalformedJsonType] : [.. ProblemTypes.All.Select(p => p.Type)];
        schema.Description = validation
            ? "An RFC 9457 problem for a request that breaks a rule, with `errors` mapping each offending field (dotted, such as `subject.lastName`) to what is wrong."
            : "An RFC 9457 problem. `type` is stable and is what to branch on:\n\n" + string.Join("\n", ProblemTypes.All.Select(p => $"- `{p.Type}`: {p.Meaning}"));
        schema.Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["type"] = Schemas.Enum(types, "A stable identifier of the kind of problem."),
            ["title"] = Schemas.String("A short summary of the kind of problem."),
            ["status"] = Schemas.Integer("int32", "The HTTP status code."),
            ["detail"] = Schemas.String("What went wrong in this case."),
            ["traceId"] = Schemas.String("The request's W3C trace identifier, to quote when asking for help."),
        };
        schema.Required = new HashSet<string>(["type", "title", "status"], StringComparer.Ordinal);
        if (validation)
        {
            schema.Properties["errors"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Description = "Each offending field, dotted (`subject.dateOfBirth`), with one or more messages.",
                AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, MinItems = 1, Items = Schemas.String() },
                MinProperties = 1,
            };
            schema.Required.Add("errors");
        }
        else
        {
            schema.Properties["rule"] = Schemas.String("With `not-permitted`: the trust-framework rule that denied the request.");
            schema.Properties["consentId"] = Schemas.String("With `consent-not-usable`: the consent the token carries.");
            schema.Properties["consentStatus"] = Schemas.String("With `consent-not-usable`: the consent's state (`revoked`, `expired`, …), so the council knows whether to ask the citizen again.");
            schema.If = new OpenApiSchema
            {
                Required = new HashSet<string>(["type"], StringComparer.Ordinal),
                Properties = new Dictionary<string, IOpenApiSchema> { ["type"] = new OpenApiSchema { Const = CheckProblems.ForbiddenType } },
            };
            schema.Then = new OpenApiSchema { Required = new HashSet<string>(["rule"], StringComparer.Ordinal) };
        }
    }
}
