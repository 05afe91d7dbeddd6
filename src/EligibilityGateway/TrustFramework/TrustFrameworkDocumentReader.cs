using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace EligibilityGateway.TrustFramework;

/// <summary>
/// Turns the YAML tree into a <see cref="TrustFrameworkDefinition"/>, reporting every rule it breaks. Sections are
/// read in dependency order (providers and councils before the schemes, auditors and permissions that name them)
/// whatever their order in the file. An entity whose id is valid stays referable even if another of its fields is
/// wrong, so one mistake yields one error rather than a cascade of "unknown reference" errors.
/// </summary>
internal sealed partial class TrustFrameworkDocumentReader(YamlErrorCollector errors)
{
    private readonly Dictionary<string, YamlNode> providerIds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, YamlNode> councilIds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, YamlNode> schemeIds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, YamlNode> clientIds = new(StringComparer.Ordinal);
    private bool sandbox;

    public TrustFrameworkDefinition? Read(YamlNode root)
    {
        var map = YamlMapReader.From(root, "", errors);
        if (map is null)
        {
            return null;
        }

        var id = map.String("id", true, IdRegex(), IdHint);
        var version = map.String("version", true, VersionRegex(), "must be 1-64 letters, digits, '.', '_', '+' or '-', starting with a letter or digit");
        var effectiveFrom = Timestamp(map, "effective_from", true);
        var effectiveUntil = Timestamp(map, "effective_until", false);
        if (effectiveFrom is { } from && effectiveUntil is { } until && until <= from)
        {
            errors.Add(map.Get("effective_until", false)!, map.FieldPath("effective_until"), "must be later than effective_from");
        }

        var sandboxFlag = map.Boolean("sandbox", true);

        // A missing or malformed flag counts as production, so the stricter rules still run.
        sandbox = sandboxFlag ?? false;

        var providers = ReadAll(map, "providers", 1, ReadProvider, providerIds);
        var councils = ReadAll(map, "councils", 1, ReadCouncil, councilIds);
        var auditors = ReadAll(map, "auditors", 0, ReadAuditor, null);
        var schemes = ReadAll(map, "schemes", 1, ReadScheme, schemeIds);
        var permissions = ReadPermissions(map);
        var sandboxUsers = ReadSandboxUsers(map);
        map.ReportUnknownKeys();

        if (id is null || version is null || effectiveFrom is null || sandboxFlag is null || errors.Errors.Count > 0)
        {
            return null;
        }

        return new TrustFrameworkDefinition(id, version, effectiveFrom.Value, effectiveUntil, sandboxFlag.Value, councils, auditors, providers, schemes, permissions, sandboxUsers);
    }

    private ImmutableArray<T> ReadAll<T>(YamlMapReader map, string key, int minimumItems, Func<YamlMapReader, T?> read, Dictionary<string, YamlNode>? ids)
        where T : class
    {
        var items = map.Sequence(key, required: minimumItems > 0, minimumItems);
        if (items is null)
        {
            return [];
        }

        var result = ImmutableArray.CreateBuilder<T>();
        foreach (var (node, path) in items)
        {
            var item = YamlMapReader.From(node, path, errors);
            if (item is null)
            {
                continue;
            }

            if (ids is not null)
            {
                RegisterId(item, ids);
            }

            if (read(item) is { } value)
            {
                result.Add(value);
            }

            item.ReportUnknownKeys();
        }

        return result.ToImmutable();
    }

    /// <summary>Reads and records <c>id</c> before the rest of the entity, reporting duplicates.</summary>
    private void RegisterId(YamlMapReader item, Dictionary<string, YamlNode> ids)
    {
        var id = item.String("id", true, IdRegex(), IdHint, 63);
        if (id is null)
        {
            return;
        }

        var node = item.Get("id", false)!;
        if (ids == councilIds && id == AuditScope.AllCouncils)
        {
            errors.Add(node, item.FieldPath("id"), $"'{AuditScope.AllCouncils}' is reserved for an auditor scope covering every council");
        }
        else if (!ids.TryAdd(id, node))
        {
            errors.Add(node, item.FieldPath("id"), $"duplicate id '{id}' (first defined at {YamlErrorCollector.At(ids[id])})");
        }
    }

    private DataProvider? ReadProvider(YamlMapReader item)
    {
        var id = item.String("id", true, IdRegex(), IdHint, 63);
        var name = item.String("name", true, maxLength: 200);
        var baseUrl = Url(item, "base_url", true, allowPath: true);
        var attempt = item.Duration("attempt_timeout", true);
        var total = item.Duration("total_timeout", true);
        if (attempt is { } a && total is { } t && a > t)
        {
            errors.Add(item.Get("attempt_timeout", false)!, item.FieldPath("attempt_timeout"), "must not be longer than total_timeout");
            attempt = null;
        }

        var maxConcurrency = item.Integer("max_concurrency", true, 1, 10_000);
        var rateLimit = ReadRateLimit(item, true);
        return id is null || name is null || baseUrl is null || attempt is null || total is null || maxConcurrency is null || rateLimit is null
            ? null
            : new DataProvider(id, name, baseUrl, attempt.Value, total.Value, maxConcurrency.Value, rateLimit);
    }

    private Council? ReadCouncil(YamlMapReader item)
    {
        var id = item.String("id", true, IdRegex(), IdHint, 63);
        var name = item.String("name", true, maxLength: 200);
        var clientId = ReadClientId(item);
        var authentication = ReadClientAuthentication(item);
        var rateLimit = ReadRateLimit(item, true);
        var redirectUris = ImmutableArray.CreateBuilder<Uri>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (node, path) in item.Sequence("redirect_uris", false) ?? [])
        {
            if (YamlMapReader.ReadString(node, path, errors, maxLength: 2000) is not { } text)
            {
                continue;
            }

            if (RedirectUri(node, path, text) is { } uri)
            {
                if (!seen.Add(text))
                {
                    errors.Add(node, path, "duplicate redirect URI");
                }

                redirectUris.Add(uri);
            }
        }

        return id is null || name is null || clientId is null || authentication is null || rateLimit is null
            ? null
            : new Council(id, name, clientId, authentication, rateLimit, redirectUris.ToImmutable());
    }

    private Auditor? ReadAuditor(YamlMapReader item)
    {
        var id = item.String("id", true, IdRegex(), IdHint, 63);
        var name = item.String("name", true, maxLength: 200);
        var clientId = ReadClientId(item);
        var authentication = ReadClientAuthentication(item);
        var scope = ReadScope(item);
        return id is null || name is null || clientId is null || authentication is null || scope is null
            ? null
            : new Auditor(id, name, clientId, authentication, scope);
    }

    private Scheme? ReadScheme(YamlMapReader item)
    {
        var id = item.String("id", true, IdRegex(), IdHint, 63);
        var name = item.String("name", true, maxLength: 200);
        var legislation = item.String("legislation", true, maxLength: 500);

        var questions = ImmutableArray.CreateBuilder<ProviderQuestion>();
        foreach (var (node, path) in item.Sequence("questions", true, 1) ?? [])
        {
            var question = YamlMapReader.From(node, path, errors);
            if (question is null)
            {
                continue;
            }

            var providerId = question.String("provider", true, IdRegex(), IdHint, 63);
            if (providerId is not null && !providerIds.ContainsKey(providerId))
            {
                errors.Add(question.Get("provider", false)!, question.FieldPath("provider"), $"unknown provider '{providerId}'");
                providerId = null;
            }

            var questionId = question.String("question", true, IdRegex(), IdHint, 63);
            question.ReportUnknownKeys();
            if (providerId is null || questionId is null)
            {
                continue;
            }

            var value = new ProviderQuestion(providerId, questionId);
            if (questions.Contains(value))
            {
                errors.Add(node, path, $"duplicate question '{providerId}/{questionId}'");
                continue;
            }

            questions.Add(value);
        }

        CombiningRule? combine = item.String("combine", true) switch
        {
            null => null,
            "any-eligible" => CombiningRule.AnyEligible,
            _ => Invalid<CombiningRule>(item, "combine", "must be 'any-eligible'"),
        };

        var release = ReadRelease(item);
        var cacheTtl = item.Duration("cache_ttl", true, allowZero: true);
        var maxConsent = item.Duration("max_consent_duration", true);
        var retention = item.Duration("audit_retention", true);

        // README "Cache TTL": an answer may be cached at most 24 hours, framework-wide, and never longer than the
        // longest consent the scheme allows, since a cached answer must not outlive the consent that obtained it.
        if (cacheTtl is { } ttl)
        {
            if (ttl > TrustFrameworkLoader.MaximumCacheTtl)
            {
                errors.Add(item.Get("cache_ttl", false)!, item.FieldPath("cache_ttl"), "must not be longer than PT24H, the framework-wide maximum");
                cacheTtl = null;
            }
            else if (maxConsent is { } consent && ttl > consent)
            {
                errors.Add(item.Get("cache_ttl", false)!, item.FieldPath("cache_ttl"), "must not be longer than max_consent_duration");
                cacheTtl = null;
            }
        }

        return id is null || name is null || legislation is null || combine is null || release is null || cacheTtl is null || maxConsent is null || retention is null || questions.Count == 0
            ? null
            : new Scheme(id, name, legislation, questions.ToImmutable(), combine.Value, release.Value, cacheTtl.Value, maxConsent.Value, retention.Value);
    }

    private ImmutableArray<ReleasedField>? ReadRelease(YamlMapReader item)
    {
        var entries = item.Sequence("release", false, 1);
        if (entries is null)
        {
            // Data minimisation: unless a scheme says otherwise the council learns the outcome alone.
            return item.Get("release", false) is null ? [ReleasedField.Outcome] : null;
        }

        var fields = ImmutableArray.CreateBuilder<ReleasedField>();
        var valid = true;
        foreach (var (node, path) in entries)
        {
            var text = YamlMapReader.ReadString(node, path, errors);
            if (text is null)
            {
                valid = false;
                continue;
            }

            ReleasedField? field = text switch
            {
                "outcome" => ReleasedField.Outcome,
                "confirmed-by" => ReleasedField.ConfirmedBy,
                _ => null,
            };
            if (field is null)
            {
                errors.Add(node, path, "must be 'outcome' or 'confirmed-by'");
                valid = false;
                continue;
            }

            if (fields.Contains(field.Value))
            {
                errors.Add(node, path, "listed twice");
                valid = false;
                continue;
            }

            fields.Add(field.Value);
        }

        if (valid && !fields.Contains(ReleasedField.Outcome))
        {
            errors.Add(item.Get("release", false)!, item.FieldPath("release"), "must include 'outcome'");
            valid = false;
        }

        return valid ? fields.ToImmutable() : null;
    }

    private ImmutableArray<Permission> ReadPermissions(YamlMapReader map)
    {
        var result = ImmutableArray.CreateBuilder<Permission>();
        var pairs = new Dictionary<(string, string), YamlNode>();
        foreach (var (node, path) in map.Sequence("permissions", true, 1) ?? [])
        {
            var item = YamlMapReader.From(node, path, errors);
            if (item is null)
            {
                continue;
            }

            var councilId = Reference(item, "council", councilIds, "council");
            var schemeId = Reference(item, "scheme", schemeIds, "scheme");
            if (councilId is not null && schemeId is not null && !pairs.TryAdd((councilId, schemeId), node))
            {
                errors.Add(node, path, $"duplicate permission for council '{councilId}' and scheme '{schemeId}' (first defined at {YamlErrorCollector.At(pairs[(councilId, schemeId)])})");
                councilId = null;
            }

            var bases = ReadLawfulBases(item);
            var purpose = item.String("purpose", true, PurposeRegex(), "must be a W3C Data Privacy Vocabulary purpose such as 'dpv:ServiceProvision'", 100);
            var rateLimit = ReadRateLimit(item, false);
            var rateLimitValid = rateLimit is not null || item.Get("rate_limit", false) is null;
            item.ReportUnknownKeys();
            if (councilId is not null && schemeId is not null && bases is not null && purpose is not null && rateLimitValid)
            {
                result.Add(new Permission(councilId, schemeId, bases.Value, purpose, rateLimit));
            }
        }

        return result.ToImmutable();
    }

    private ImmutableArray<LawfulBasisGrant>? ReadLawfulBases(YamlMapReader item)
    {
        var entries = item.Sequence("lawful_bases", true, 1, "must allow at least one lawful basis");
        if (entries is null)
        {
            return null;
        }

        var grants = ImmutableArray.CreateBuilder<LawfulBasisGrant>();
        var valid = entries.Count > 0;
        foreach (var (node, path) in entries)
        {
            var entry = YamlMapReader.From(node, path, errors);
            if (entry is null)
            {
                valid = false;
                continue;
            }

            var name = entry.String("basis", true);
            LawfulBasis? basis = null;
            if (name is not null)
            {
                if (LawfulBasisNames.TryParse(name, out var parsed))
                {
                    basis = parsed;
                }
                else
                {
                    errors.Add(entry.Get("basis", false)!, entry.FieldPath("basis"), $"must be '{LawfulBasisNames.Consent}' or '{LawfulBasisNames.PublicTask}'");
                }
            }

            string? legalReference = null;
            string? isaReference = null;
            if (basis == LawfulBasis.PublicTask)
            {
                // DEA 2017 s.35 disclosures are lawful only for an objective in the regulations and under an
                // information-sharing agreement that follows the statutory code of practice; both must be named.
                legalReference = RequiredForPublicTask(entry, "legal_reference", "the Digital Economy Act 2017 s.35 objective", 500);
                isaReference = RequiredForPublicTask(entry, "isa_reference", "the information-sharing agreement reference", 200);
            }
            else if (basis == LawfulBasis.Consent)
            {
                foreach (var key in new[] { "legal_reference", "isa_reference" })
                {
                    if (entry.KeyNode(key) is { } keyNode)
                    {
                        errors.Add(keyNode, entry.FieldPath(key), "only allowed for public-task");
                    }
                }
            }
            else
            {
                // Unknown basis: mark the references as read so they are not also reported as unknown keys.
                entry.Get("legal_reference", false);
                entry.Get("isa_reference", false);
            }

            entry.ReportUnknownKeys();
            if (basis is null || (basis == LawfulBasis.PublicTask && (legalReference is null || isaReference is null)))
            {
                valid = false;
                continue;
            }

            if (grants.Any(g => g.Basis == basis))
            {
                errors.Add(node, path, $"lawful basis '{name}' listed twice");
                valid = false;
                continue;
            }

            grants.Add(new LawfulBasisGrant(basis.Value, legalReference, isaReference));
        }

        return valid ? grants.ToImmutable() : null;
    }

    private string? RequiredForPublicTask(YamlMapReader entry, string key, string what, int maxLength)
    {
        if (entry.Get(key, false) is null)
        {
            errors.Add(entry.Node, entry.FieldPath(key), $"required for public-task ({what})");
            return null;
        }

        return entry.String(key, false, maxLength: maxLength);
    }

    private ImmutableArray<SandboxUser> ReadSandboxUsers(YamlMapReader map)
    {
        var keyNode = map.KeyNode("sandbox_users");
        if (keyNode is null)
        {
            return [];
        }

        if (!sandbox)
        {
            errors.Add(keyNode, "sandbox_users", "only allowed when sandbox: true");
        }

        var result = ImmutableArray.CreateBuilder<SandboxUser>();
        var usernames = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (node, path) in map.Sequence("sandbox_users", false) ?? [])
        {
            var item = YamlMapReader.From(node, path, errors);
            if (item is null)
            {
                continue;
            }

            var username = item.String("username", true, UsernameRegex(), "must be 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter", 64);
            if (username is not null && !usernames.TryAdd(username, item.Get("username", false)!))
            {
                errors.Add(item.Get("username", false)!, item.FieldPath("username"), $"duplicate username '{username}' (first defined at {YamlErrorCollector.At(usernames[username])})");
                username = null;
            }

            var hash = ReadSecretHash(item, "password_hash");
            var role = item.String("role", true);
            AuditScope? scope = null;
            Checks.Subject? identity = null;
            var valid = role is not null;
            switch (role)
            {
                case SandboxUser.AuditorRole:
                    scope = ReadScope(item);
                    valid &= scope is not null;
                    valid &= NotAllowedFor(item, "identity", SandboxUser.CitizenRole);
                    break;
                case SandboxUser.CitizenRole:
                    identity = ReadCitizenIdentity(item);
                    valid &= identity is not null;
                    valid &= NotAllowedFor(item, "scope", SandboxUser.AuditorRole);
                    break;
                default:
                    if (role is not null)
                    {
                        errors.Add(item.Get("role", false)!, item.FieldPath("role"), $"must be '{SandboxUser.AuditorRole}' or '{SandboxUser.CitizenRole}'");
                    }

                    // Mark both as read so that one wrong role yields one error, not two "unknown key"s besides.
                    item.Get("scope", false);
                    item.Get("identity", false);
                    break;
            }

            item.ReportUnknownKeys();
            if (username is not null && hash is not null && valid)
            {
                result.Add(new SandboxUser(username, hash, role!, scope, identity));
            }
        }

        return result.ToImmutable();
    }

    /// <summary>Reports <paramref name="key"/> as belonging to the other role; true when it is absent.</summary>
    private bool NotAllowedFor(YamlMapReader item, string key, string role)
    {
        if (item.KeyNode(key) is not { } keyNode)
        {
            return true;
        }

        errors.Add(keyNode, item.FieldPath(key), $"only allowed for role '{role}'");
        return false;
    }

    /// <summary>
    /// A test citizen's verified identity, held to the rules a check subject meets (Checks README), so that a consent
    /// bound to it can be checked. Messages describe the rule and never repeat the value: it is personal data.
    /// </summary>
    private Checks.Subject? ReadCitizenIdentity(YamlMapReader item)
    {
        var identity = item.Mapping("identity", true);
        if (identity is null)
        {
            return null;
        }

        var ni = identity.String("national_insurance_number", false, maxLength: 20);
        var nass = identity.String("national_asylum_seeker_service_number", false, NassNumberRegex(), "must be a NASS number: 9 or 10 digits, the 3rd and 4th a month", 10);
        var lastName = identity.String("last_name", true, LastNameRegex(), "must be 1-100 letters, spaces, hyphens or apostrophes", 100);
        var dateOfBirthText = identity.String("date_of_birth", true, DateRegex(), "must be a date written yyyy-MM-dd");
        identity.ReportUnknownKeys();

        var valid = true;
        Checks.IdentifierKind kind = default;
        string? identifier = null;
        if (ni is not null && !Checks.CheckRequestValidator.TryNormaliseNationalInsuranceNumber(ni, out identifier))
        {
            errors.Add(identity.Get("national_insurance_number", false)!, identity.FieldPath("national_insurance_number"), "must be a National Insurance number such as QQ123456C");
            valid = false;
        }
        else if (ni is not null)
        {
            kind = Checks.IdentifierKind.NationalInsuranceNumber;
        }

        var niGiven = identity.KeyNode("national_insurance_number") is not null;
        var nassGiven = identity.KeyNode("national_asylum_seeker_service_number") is not null;
        if (niGiven == nassGiven)
        {
            errors.Add(identity.Node, identity.Path, "exactly one of national_insurance_number and national_asylum_seeker_service_number is required");
            valid = false;
        }
        else if (nass is not null)
        {
            kind = Checks.IdentifierKind.NationalAsylumSeekerServiceNumber;
            identifier = nass;
        }

        DateOnly? dateOfBirth = null;
        if (dateOfBirthText is not null)
        {
            if (!DateOnly.TryParseExact(dateOfBirthText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
            {
                errors.Add(identity.Get("date_of_birth", false)!, identity.FieldPath("date_of_birth"), "must be a real date");
            }
            else if (parsed < Checks.CheckRequestValidator.EarliestDateOfBirth)
            {
                errors.Add(identity.Get("date_of_birth", false)!, identity.FieldPath("date_of_birth"), "must not be before 1900-01-01");
            }
            else
            {
                dateOfBirth = parsed;
            }
        }

        return valid && identifier is not null && lastName is not null && dateOfBirth is { } born
            ? new Checks.Subject(kind, identifier, lastName.Trim(), born)
            : null;
    }

    private string? ReadClientId(YamlMapReader item)
    {
        var clientId = item.String("client_id", true, ClientIdRegex(), "must be 1-128 letters, digits, '.', '_', '~', ':' or '-', starting with a letter or digit", 128);
        if (clientId is null)
        {
            return null;
        }

        var node = item.Get("client_id", false)!;
        if (!clientIds.TryAdd(clientId, node))
        {
            // Councils and auditors share one token endpoint, so a client id must be unique across both.
            errors.Add(node, item.FieldPath("client_id"), $"duplicate client id '{clientId}' (first defined at {YamlErrorCollector.At(clientIds[clientId])})");
            return null;
        }

        return clientId;
    }

    private ClientAuthentication? ReadClientAuthentication(YamlMapReader item)
    {
        var auth = item.Mapping("client_authentication", true);
        if (auth is null)
        {
            return null;
        }

        ClientAuthentication? result = null;
        var method = auth.String("method", true);
        switch (method)
        {
            case null:
                auth.Get("jwks", false);
                auth.Get("secret_hash", false);
                break;
            case ClientAuthentication.PrivateKeyJwtMethod:
                if (auth.KeyNode("secret_hash") is { } secretKey)
                {
                    errors.Add(secretKey, auth.FieldPath("secret_hash"), "only allowed with client_secret_basic");
                }

                var keys = ReadJwks(auth);
                result = keys is null ? null : new PrivateKeyJwtAuthentication(keys.Value);
                break;
            case ClientAuthentication.ClientSecretBasicMethod:
                if (!sandbox)
                {
                    // Shared secrets are for the sandbox; production clients prove possession of a key.
                    errors.Add(auth.Get("method", false)!, auth.FieldPath("method"), "client_secret_basic is only allowed when sandbox: true; use private_key_jwt");
                }

                if (auth.KeyNode("jwks") is { } jwksKey)
                {
                    errors.Add(jwksKey, auth.FieldPath("jwks"), "only allowed with private_key_jwt");
                }

                var hash = ReadSecretHash(auth, "secret_hash");
                result = hash is null || !sandbox ? null : new ClientSecretBasicAuthentication(hash);
                break;
            default:
                errors.Add(auth.Get("method", false)!, auth.FieldPath("method"), $"must be '{ClientAuthentication.PrivateKeyJwtMethod}' or '{ClientAuthentication.ClientSecretBasicMethod}'");
                auth.Get("jwks", false);
                auth.Get("secret_hash", false);
                break;
        }

        auth.ReportUnknownKeys();
        return result;
    }

    private SecretHash? ReadSecretHash(YamlMapReader item, string key)
    {
        var text = item.String(key, true, maxLength: 300);
        if (text is null)
        {
            return null;
        }

        if (!SecretHash.TryParse(text, out var hash, out var error))
        {
            // The message describes the format and never repeats the value.
            errors.Add(item.Get(key, false)!, item.FieldPath(key), error);
            return null;
        }

        return hash;
    }

    private ImmutableArray<PublicJsonWebKey>? ReadJwks(YamlMapReader auth)
    {
        var jwks = auth.Mapping("jwks", true);
        if (jwks is null)
        {
            return null;
        }

        var keys = ImmutableArray.CreateBuilder<PublicJsonWebKey>();
        var kids = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        var valid = true;
        foreach (var (node, path) in jwks.Sequence("keys", true, 1) ?? [])
        {
            var jwk = YamlMapReader.From(node, path, errors);
            if (jwk is null)
            {
                valid = false;
                continue;
            }

            var key = ReadJsonWebKey(jwk);
            if (key is not null && !kids.TryAdd(key.Kid, jwk.Get("kid", false)!))
            {
                errors.Add(jwk.Get("kid", false)!, jwk.FieldPath("kid"), $"duplicate kid '{key.Kid}' (first defined at {YamlErrorCollector.At(kids[key.Kid])})");
                key = null;
            }

            jwk.ReportUnknownKeys();
            if (key is null)
            {
                valid = false;
                continue;
            }

            keys.Add(key);
        }

        jwks.ReportUnknownKeys();
        return valid && keys.Count > 0 ? keys.ToImmutable() : null;
    }

    private static readonly string[] PrivateKeyMembers = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

    private PublicJsonWebKey? ReadJsonWebKey(YamlMapReader jwk)
    {
        var valid = true;
        foreach (var member in PrivateKeyMembers)
        {
            if (jwk.KeyNode(member) is { } keyNode)
            {
                // A framework is published to every participant; a private part here would let anyone impersonate the client.
                errors.Add(keyNode, jwk.FieldPath(member), $"private key member '{member}' must not be in a trust framework; publish the public key only");
                valid = false;
            }
        }

        var kid = jwk.String("kid", true, KidRegex(), "must be 1-128 printable ASCII characters without spaces", 128);
        var use = jwk.String("use", false);
        if (use is not null && use != "sig")
        {
            errors.Add(jwk.Get("use", false)!, jwk.FieldPath("use"), "must be 'sig'");
            valid = false;
        }

        var kty = jwk.String("kty", true);
        var alg = jwk.String("alg", false);
        string? crv = null, x = null, y = null, n = null, e = null;
        switch (kty)
        {
            case null:
                valid = false;
                break;
            case "EC":
                crv = jwk.String("crv", true);
                if (crv is not null && crv != "P-256")
                {
                    errors.Add(jwk.Get("crv", false)!, jwk.FieldPath("crv"), "must be 'P-256'");
                    valid = false;
                }

                if (alg is not null && alg != "ES256")
                {
                    errors.Add(jwk.Get("alg", false)!, jwk.FieldPath("alg"), "must be 'ES256' for an EC P-256 key");
                    valid = false;
                }

                var xBytes = Base64UrlMember(jwk, "x", 32);
                var yBytes = Base64UrlMember(jwk, "y", 32);
                if (xBytes is not null && yBytes is not null && !IsP256Point(xBytes, yBytes))
                {
                    errors.Add(jwk.Node, jwk.Path, "x and y are not a point on the P-256 curve");
                    valid = false;
                }

                valid &= crv is not null && xBytes is not null && yBytes is not null;
                x = jwk.String("x", false);
                y = jwk.String("y", false);
                break;
            case "RSA":
                if (alg is not null && !RsaAlgorithms.Contains(alg))
                {
                    errors.Add(jwk.Get("alg", false)!, jwk.FieldPath("alg"), "must be one of " + string.Join(", ", RsaAlgorithms));
                    valid = false;
                }

                var modulus = Base64UrlMember(jwk, "n", null);
                var exponent = Base64UrlMember(jwk, "e", null);
                if (modulus is not null && ModulusBits(modulus) < 2048)
                {
                    errors.Add(jwk.Get("n", false)!, jwk.FieldPath("n"), string.Create(CultureInfo.InvariantCulture, $"RSA modulus is {ModulusBits(modulus)} bits; at least 2048 are required"));
                    valid = false;
                }
                else if (modulus is not null && exponent is not null && !IsRsaKey(modulus, exponent))
                {
                    errors.Add(jwk.Node, jwk.Path, "n and e are not a usable RSA public key");
                    valid = false;
                }

                valid &= modulus is not null && exponent is not null;
                n = jwk.String("n", false);
                e = jwk.String("e", false);
                break;
            default:
                errors.Add(jwk.Get("kty", false)!, jwk.FieldPath("kty"), "must be 'EC' (P-256) or 'RSA' (2048 bits or more)");
                valid = false;
                break;
        }

        return valid && kid is not null && kty is not null ? new PublicJsonWebKey(kid, kty, alg, crv, x, y, n, e) : null;
    }

    private static readonly string[] RsaAlgorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];

    private byte[]? Base64UrlMember(YamlMapReader jwk, string key, int? length)
    {
        var text = jwk.String(key, true, Base64UrlRegex(), "must be base64url without padding", 2000);
        if (text is null)
        {
            return null;
        }

        byte[] bytes;
        try
        {
            bytes = System.Buffers.Text.Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            errors.Add(jwk.Get(key, false)!, jwk.FieldPath(key), "must be base64url without padding");
            return null;
        }

        if (length is { } expected && bytes.Length != expected)
        {
            errors.Add(jwk.Get(key, false)!, jwk.FieldPath(key), string.Create(CultureInfo.InvariantCulture, $"must encode {expected} bytes, got {bytes.Length}"));
            return null;
        }

        return bytes;
    }

    private static bool IsP256Point(byte[] x, byte[] y)
    {
        try
        {
            using var key = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = x, Y = y } });
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static bool IsRsaKey(byte[] modulus, byte[] exponent)
    {
        try
        {
            using var key = RSA.Create(new RSAParameters { Modulus = modulus, Exponent = exponent });
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static int ModulusBits(byte[] modulus)
    {
        var start = Array.FindIndex(modulus, b => b != 0);
        return start < 0 ? 0 : ((modulus.Length - start) * 8) - System.Numerics.BitOperations.LeadingZeroCount((uint)modulus[start]) + 24;
    }

    private AuditScope? ReadScope(YamlMapReader item)
    {
        var scope = item.String("scope", true, ScopeRegex(), $"must be '{AuditScope.AllCouncils}' or a council id", 63);
        if (scope is null)
        {
            return null;
        }

        if (scope == AuditScope.AllCouncils)
        {
            return AuditScope.All;
        }

        if (!councilIds.ContainsKey(scope))
        {
            errors.Add(item.Get("scope", false)!, item.FieldPath("scope"), $"unknown council '{scope}'");
            return null;
        }

        return new AuditScope(scope);
    }

    private RateLimit? ReadRateLimit(YamlMapReader item, bool required)
    {
        var map = item.Mapping("rate_limit", required);
        if (map is null)
        {
            return null;
        }

        var limit = map.Integer("limit", true, 1, 1_000_000);
        var window = map.Duration("window", true);
        map.ReportUnknownKeys();
        return limit is null || window is null ? null : new RateLimit(limit.Value, window.Value);
    }

    private string? Reference(YamlMapReader item, string key, Dictionary<string, YamlNode> ids, string kind)
    {
        var id = item.String(key, true, IdRegex(), IdHint, 63);
        if (id is not null && !ids.ContainsKey(id))
        {
            errors.Add(item.Get(key, false)!, item.FieldPath(key), $"unknown {kind} '{id}'");
            return null;
        }

        return id;
    }

    private DateTimeOffset? Timestamp(YamlMapReader map, string key, bool required)
    {
        var text = map.String(key, required, TimestampRegex(), "must be an RFC 3339 date-time with an offset, such as 2026-04-01T00:00:00+01:00", 40);
        if (text is null)
        {
            return null;
        }

        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var value))
        {
            errors.Add(map.Get(key, false)!, map.FieldPath(key), "is not a real date and time");
            return null;
        }

        return value;
    }

    private Uri? Url(YamlMapReader item, string key, bool required, bool allowPath)
    {
        var text = item.String(key, required, maxLength: 2000);
        if (text is null)
        {
            return null;
        }

        var node = item.Get(key, false)!;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp) || uri.Host.Length == 0)
        {
            errors.Add(node, item.FieldPath(key), "must be an absolute http or https URL");
            return null;
        }

        if (uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0 || (!allowPath && uri.AbsolutePath != "/"))
        {
            // Credentials come from configuration (Providers:<id>:Credential), never from a URL in a shared file.
            errors.Add(node, item.FieldPath(key), "must not contain credentials, a query or a fragment");
            return null;
        }

        if (uri.Scheme == Uri.UriSchemeHttp && !sandbox)
        {
            errors.Add(node, item.FieldPath(key), "must use https outside a sandbox framework");
            return null;
        }

        return uri;
    }

    private Uri? RedirectUri(YamlNode node, string path, string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp) || uri.Host.Length == 0)
        {
            errors.Add(node, path, "must be an absolute http or https URL");
            return null;
        }

        if (uri.Fragment.Length > 0 || text.Contains('#', StringComparison.Ordinal))
        {
            // RFC 6749 §3.1.2: the redirection endpoint URI must not include a fragment.
            errors.Add(node, path, "must not contain a fragment");
            return null;
        }

        if (uri.Scheme == Uri.UriSchemeHttp && !(sandbox && uri.IsLoopback))
        {
            // RFC 9700 §2.1: plain http only for loopback, which only a sandbox uses.
            errors.Add(node, path, "must use https (http only for loopback in a sandbox framework)");
            return null;
        }

        return uri;
    }

    private T? Invalid<T>(YamlMapReader item, string key, string message)
        where T : struct
    {
        errors.Add(item.Get(key, false)!, item.FieldPath(key), message);
        return null;
    }

    private const string IdHint = "must be lower-case letters and digits in hyphen-separated words, starting with a letter (at most 63 characters)";

    // The patterns below are repeated in contracts/trust-framework.schema.json; change both together.
    [GeneratedRegex("^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$", RegexOptions.CultureInvariant)]
    internal static partial Regex IdRegex();

    [GeneratedRegex("^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex VersionRegex();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._~:-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex ClientIdRegex();

    [GeneratedRegex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]{1,7})?(?:Z|[+-][0-9]{2}:[0-9]{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex TimestampRegex();

    [GeneratedRegex("^dpv:[A-Z][A-Za-z0-9]*$", RegexOptions.CultureInvariant)]
    private static partial Regex PurposeRegex();

    [GeneratedRegex("^[a-z][a-z0-9._-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex UsernameRegex();

    // The NASS rule, as CheckRequestValidator applies it to a check's subject.
    [GeneratedRegex("^[0-9]{2}(0[1-9]|1[0-2])[0-9]{5,6}$", RegexOptions.CultureInvariant)]
    private static partial Regex NassNumberRegex();

    [GeneratedRegex("^[\\p{L}\\p{M}'\u2019 -]{1,100}$", RegexOptions.CultureInvariant)]
    private static partial Regex LastNameRegex();

    [GeneratedRegex("^[0-9]{4}-[0-9]{2}-[0-9]{2}$", RegexOptions.CultureInvariant)]
    private static partial Regex DateRegex();

    [GeneratedRegex("^[\\x21-\\x7E]{1,128}$", RegexOptions.CultureInvariant)]
    private static partial Regex KidRegex();

    [GeneratedRegex("^[A-Za-z0-9_-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Base64UrlRegex();

    [GeneratedRegex("^(?:all|[a-z][a-z0-9]*(?:-[a-z0-9]+)*)$", RegexOptions.CultureInvariant)]
    private static partial Regex ScopeRegex();
}
