using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using EligibilityGateway.Tests.EndToEnd;
using Xunit.Abstractions;

namespace EligibilityGateway.Tests.Security;

/// <summary>
/// Throws generated malformed requests at every JSON endpoint and every form the sandbox serves (the OAuth endpoints,
/// the citizen's and the auditor's pages, the demo council), and generated query strings at the pages and API reads, signed in and with valid tokens and antiforgery values so
/// that the bad parts reach the code behind them. The generator is seeded: a failure prints the seed, and
/// <c>EGW_FUZZ_SEED=&lt;seed&gt;</c> replays exactly the same requests. Every request must get a 4xx or a success
/// within 5 s, and the gateway must still be live afterwards; a 5xx, a slower answer, no answer at all or a dead
/// process fails the test.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed partial class MalformedRequestFuzzTests(SandboxFixture sandbox, ITestOutputHelper output) : IClassFixture<SandboxFixture>
{
    private const int DefaultSeed = 20261202;
    private const int RequestsPerTarget = 100;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Where the malformed requests come from: not 127.0.0.1, where the browsers sign in, so that the failed sign-ins
    /// among them lock only this address (the sign-in throttle counts per address) and never the browsers'.
    /// </summary>
    private static readonly IPAddress FuzzSource = IPAddress.Parse("127.20.0.1");

    [Fact]
    public async Task No_generated_malformed_request_gets_a_5xx_a_slow_answer_or_kills_the_gateway()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("EGW_FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var chosen) ? chosen : DefaultSeed;
        var targets = await TargetsAsync();
        var random = new Random(seed);
        var failures = new List<string>();
        var sent = 0;
        var statuses = new SortedDictionary<int, int>();

        for (var round = 0; round < RequestsPerTarget; round++)
        {
            foreach (var target in targets)
            {
                var (description, request) = Mutate(random, target);
                var answer = await RawHttp.SendAsync(sandbox.Sandbox.GatewayAddress, request, Patience + TimeSpan.FromSeconds(1), FuzzSource);
                sent++;
                statuses[answer.Status] = statuses.GetValueOrDefault(answer.Status) + 1;
                if (answer.Status is 0 or >= 500 || answer.Elapsed > Patience)
                {
                    failures.Add($"#{sent} {target.Name} [{description}]: status {answer.Status} after {answer.Elapsed.TotalMilliseconds:0} ms {Excerpt(answer.Text)}");
                }
            }

            if (round % 10 == 9)
            {
                await AssertLiveAsync(seed, sent);
            }
        }

        output.WriteLine($"seed {seed}: {sent} requests over {targets.Count} targets; statuses {string.Join(", ", statuses.Select(s => $"{s.Key}×{s.Value}"))}");
        sent.Should().BeGreaterThanOrEqualTo(1000);
        failures.Should().BeEmpty($"every malformed request deserves a 4xx in time (seed {seed}; replay with EGW_FUZZ_SEED={seed})");
        await AssertLiveAsync(seed, sent);
    }

    [Fact]
    public async Task No_generated_query_string_gets_a_5xx_a_slow_answer_or_kills_the_gateway()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("EGW_FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var chosen) ? chosen : DefaultSeed;
        var audit = ("Authorization", "Bearer " + await sandbox.TokenAsync("auditor", "audit.read"));
        var check = ("Authorization", "Bearer " + await sandbox.TokenAsync("leeds", "eligibility.check"));
        var consents = ("Authorization", "Bearer " + await sandbox.TokenAsync("leeds", "consents.manage"));
        var citizen = await BrowserAsync("smith", "/sign-out");
        var auditor = await BrowserAsync("auditor", "/audit");
        var demo = await DemoAsync();
        (string Path, IReadOnlyList<(string, string)> Headers)[] targets =
        [
            ("/v1/audit/events", [audit]), ("/v1/audit/export", [audit]), ("/v1/audit/checkpoints", [audit]), ("/v1/audit/verify", [audit]),
            ("/v1/checks/{id}", [check]), ("/v1/consents/{id}", [consents]), ("/audit", auditor.Headers), ("/audit?handler=export", auditor.Headers),
            ("/account", citizen.Headers), ("/account/consents/{id}/receipt", citizen.Headers), ("/connect/authorize", citizen.Headers),
            ("/connect/endsession", citizen.Headers), ("/connect/userinfo", [check]), ("/sign-in", []), ("/demo/callback", demo.Headers), ("/demo/answer", demo.Headers),
        ];
        string[] names = ["from", "to", "council", "councilId", "scheme", "lawfulBasis", "outcome", "decision", "eventType", "consentId", "cursor", "limit", "order", "format", "handler", "returnUrl", "request_uri", "client_id", "id_token_hint", "post_logout_redirect_uri", "code", "state", "iss", "error"];
        string[] values =
        [
            "9999-12-31", "9999-12-31T23:59:59Z", "0001-01-01", "0001-01-01T00:00:00Z", "2026-02-30", "2026-13-01", "-1", "0", "2147483648", "99999999999999999999", "1e9",
            "", "%00", "%FF%FE", "%ED%A0%80", "%zz", "%", "asc", "desc", "csv", "jsonl", "xml", "eyJ2IjoxLCJhZnRlciI6LTEsIm9yZGVyIjoiZGVzYyJ9", "eyJ2IjoxLCJhZnRlciI6OTIyMzM3MjAzNjg1NDc3NTgwNywib3JkZXIiOiJhc2MifQ",
            "e30", "!!!", "https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)", "urn:ietf:params:oauth:request_uri:x", "leeds", "*", "a%0D%0ALocation:%20x",
        ];

        var random = new Random(seed);
        var failures = new List<string>();
        var statuses = new SortedDictionary<int, int>();
        for (var sent = 1; sent <= 640; sent++)
        {
            var (path, headers) = targets[random.Next(targets.Length)];
            path = path.Replace("{id}", random.Next(3) switch { 0 => "%FF", 1 => new string('9', random.Next(1, 300)), _ => Guid.NewGuid().ToString() }, StringComparison.Ordinal);
            var parameters = Enumerable.Range(0, random.Next(1, 6)).Select(_ =>
            {
                var value = random.Next(8) == 0 ? new string('x', random.Next(1, 20_000)) : values[random.Next(values.Length)];
                return names[random.Next(names.Length)] + "=" + value;
            });
            var target = path + (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + string.Join("&", parameters);
            var answer = await RawHttp.SendAsync(sandbox.Sandbox.GatewayAddress, RawHttp.Head("GET", target, "127.0.0.1", headers), Patience + TimeSpan.FromSeconds(1), FuzzSource);
            statuses[answer.Status] = statuses.GetValueOrDefault(answer.Status) + 1;
            if (answer.Status is 0 or >= 500 || answer.Elapsed > Patience)
            {
                failures.Add($"#{sent} GET {(target.Length > 200 ? target[..200] + "…" : target)}: status {answer.Status} after {answer.Elapsed.TotalMilliseconds:0} ms {Excerpt(answer.Text)}");
            }
        }

        output.WriteLine($"seed {seed}: 640 GET requests; statuses {string.Join(", ", statuses.Select(s => $"{s.Key}×{s.Value}"))}");
        failures.Should().BeEmpty($"every malformed query deserves a 4xx or an answer in time (seed {seed}; replay with EGW_FUZZ_SEED={seed})");
        await AssertLiveAsync(seed, 640);
    }

    private async Task AssertLiveAsync(int seed, int sent)
    {
        using var live = await sandbox.Http.GetAsync(sandbox.Gateway("/health/live"));
        live.StatusCode.Should().Be(HttpStatusCode.OK, $"the gateway must survive {sent} malformed requests (seed {seed})");
    }

    /// <summary>One place a request can be sent: how to authenticate, which fields a good request holds, and which form field carries antiforgery.</summary>
    private sealed record Target(string Name, string Path, BodyKind Kind, IReadOnlyList<(string Name, string Value)> Headers, IReadOnlyList<(string Name, string Value)> Fields);

    private enum BodyKind
    {
        Json,
        Form,
    }

    private async Task<List<Target>> TargetsAsync()
    {
        var check = ("Authorization", "Bearer " + await sandbox.TokenAsync("leeds", "eligibility.check"));
        var consents = ("Authorization", "Bearer " + await sandbox.TokenAsync("leeds", "consents.manage"));
        var audit = ("Authorization", "Bearer " + await sandbox.TokenAsync("auditor", "audit.read"));
        var basic = ("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("leeds:leeds-sandbox-secret")));

        var citizen = await BrowserAsync("smith", "/sign-out");
        var auditor = await BrowserAsync("auditor", "/audit");
        var leaving = await BrowserAsync("smith", "/sign-out");
        var stranger = await BrowserAsync(null, "/sign-in");
        var demo = await DemoAsync();

        var checkFields = Fields(("scheme", "free-school-meals"), ("lawfulBasis", "public-task"), ("caseReference", "FSM-2026-000123"), ("subject", """{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"1990-01-01"}"""));
        return
        [
            new("POST /v1/checks", "/v1/checks", BodyKind.Json, [check], checkFields),
            new("POST /v1/consents", "/v1/consents", BodyKind.Json, [consents], Fields(("scheme", "free-school-meals"), ("caseReference", "FSM-2026-000124"))),
            new("POST /v1/audit/subject-search", "/v1/audit/subject-search", BodyKind.Json, [audit], Fields(("nationalInsuranceNumber", "AB123456C"), ("dateOfBirth", "1990-01-01"))),
            new("POST /connect/token", "/connect/token", BodyKind.Form, [basic], Fields(("grant_type", "client_credentials"), ("scope", "eligibility.check"))),
            new("POST /connect/par", "/connect/par", BodyKind.Form, [basic], Fields(("response_type", "code"), ("redirect_uri", "http://127.0.0.1:8080/demo/callback"), ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), ("code_challenge_method", "S256"), ("scope", "eligibility.check"), ("authorization_details", """[{"type":"eligibility-check","consent_id":"c"}]"""))),
            new("POST /connect/introspect", "/connect/introspect", BodyKind.Form, [basic], Fields(("token", "not-a-token"), ("token_type_hint", "access_token"))),
            new("POST /connect/revoke", "/connect/revoke", BodyKind.Form, [basic], Fields(("token", "not-a-token"), ("token_type_hint", "refresh_token"))),
            new("POST /sign-in", "/sign-in?returnUrl=%2Faccount", BodyKind.Form, stranger.Headers, Fields(stranger.Antiforgery, ("username", "nobody"), ("password", "wrong"), ("returnUrl", "/account"))),
            new("POST /sign-out", "/sign-out", BodyKind.Form, leaving.Headers, Fields(leaving.Antiforgery)),
            new("POST /account?handler=revoke", "/account?handler=revoke", BodyKind.Form, citizen.Headers, Fields(citizen.Antiforgery, ("consentId", "00000000-0000-0000-0000-000000000000"))),
            new("POST /connect/authorize", "/connect/authorize", BodyKind.Form, citizen.Headers, Fields(citizen.Antiforgery, ("decision", "allow"))),
            new("POST /audit?handler=verify", "/audit?handler=verify", BodyKind.Form, auditor.Headers, Fields(auditor.Antiforgery)),
            new("POST /audit?handler=subject", "/audit?handler=subject", BodyKind.Form, auditor.Headers, Fields(auditor.Antiforgery, ("nationalInsuranceNumber", "AB123456C"), ("dateOfBirth", "1990-01-01"))),
            new("POST /demo/start", "/demo/start", BodyKind.Form, demo.Headers, Fields(demo.Antiforgery, ("nationalInsuranceNumber", "AB123456C"), ("lastName", "Smith"), ("dateOfBirth", "1990-01-01"))),
            new("POST /demo/check-again", "/demo/check-again", BodyKind.Form, demo.Headers, Fields(demo.Antiforgery)),
        ];
    }

    private static (string, string)[] Fields(params (string Name, string Value)[] fields) => fields;

    /// <summary>A signed-in browser (or a signed-out one when <paramref name="username"/> is null): its cookies and the antiforgery value of <paramref name="page"/>'s form.</summary>
    private async Task<(IReadOnlyList<(string, string)> Headers, (string Name, string Value) Antiforgery)> BrowserAsync(string? username, string page)
    {
        var cookies = new CookieContainer();
        using var client = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = sandbox.Sandbox.GatewayAddress };
        if (username is not null)
        {
            using var signedIn = await Pages.PageGateway.SignInAsync(client, username, Pages.PageGateway.Password);
            signedIn.StatusCode.Should().Be(HttpStatusCode.Redirect, $"{username} signs in");
        }

        var token = await Pages.PageGateway.AntiforgeryTokenAsync(client, page);
        return ([("Cookie", cookies.GetCookieHeader(sandbox.Sandbox.GatewayAddress))], ("__RequestVerificationToken", token));
    }

    private async Task<(IReadOnlyList<(string, string)> Headers, (string Name, string Value) Antiforgery)> DemoAsync()
    {
        var cookies = new CookieContainer();
        using var client = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = sandbox.Sandbox.GatewayAddress };
        var html = await client.GetStringAsync("/demo");
        var token = DemoTokenPattern().Match(html);
        token.Success.Should().BeTrue("the demo's start page carries its antiforgery field");
        return ([("Cookie", cookies.GetCookieHeader(sandbox.Sandbox.GatewayAddress))], ("__DemoRequestVerificationToken", WebUtility.HtmlDecode(token.Groups[1].Value)));
    }

    [GeneratedRegex("name=\"__DemoRequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex DemoTokenPattern();

    // ---- the generator -------------------------------------------------------------------------------------------

    private static readonly string[] OddStrings =
    [
        "\\ud800", "\\udfff", "\\ud800\\u0041", "\\u0000", "\\u202e\\u0041\\u0042", "\\uffff", "\\ufeff",
        "Ｓｍｉｔｈ", "S\u0301mith", "😀😀😀", "\u202eevil", "a\u0000b", "=HYPERLINK(1)", "../../etc/passwd", "' OR 1=1 --",
        "<script>alert(1)</script>", "%00", "\\\\", "\\n\\r\\t",
    ];

    private static readonly byte[][] InvalidUtf8 =
    [
        [0xC3, 0x28], [0xA0, 0xA1], [0xE2, 0x28, 0xA1], [0xF0, 0x28, 0x8C, 0xBC], [0xFF], [0xFE, 0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80],
    ];

    private static readonly string[] ContentTypes =
    [
        "text/plain", "application/xml", "application/json; charset=utf-16", "application/json; charset=bogus", "application/x-www-form-urlencoded; charset=utf-7",
        "multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=xyz", "application/json\r\n", "*/*", ";;;", "application/json; charset=\"\u00e9\"",
        "application/merge-patch+json", "text/csv",
    ];

    private (string Description, byte[] Request) Mutate(Random random, Target target)
    {
        var headers = new List<(string Name, string Value)>(target.Headers);
        var contentType = target.Kind == BodyKind.Json ? "application/json" : "application/x-www-form-urlencoded";
        var path = target.Path;
        string description;
        byte[] body;
        var chunking = Chunking.None;

        switch (random.Next(12))
        {
            case 0:
                (description, body) = WrongTypes(random, target);
                break;
            case 1:
                (description, body) = Nested(random, target);
                break;
            case 2:
                (description, body) = Truncated(random, target);
                break;
            case 3:
                (description, body) = Duplicated(random, target);
                break;
            case 4:
                (description, body) = OddUnicode(random, target);
                break;
            case 5:
                (description, body) = Huge(random, target);
                break;
            case 6:
                (description, body) = WithInvalidUtf8(random, target);
                break;
            case 7:
                contentType = ContentTypes[random.Next(ContentTypes.Length)];
                (description, body) = Good(target);
                description = $"content type '{Printable(contentType)}'";
                break;
            case 8:
                chunking = (Chunking)random.Next(1, Enum.GetValues<Chunking>().Length);
                (_, body) = Good(target);
                description = $"chunking {chunking}";
                break;
            case 9:
                var header = random.Next(4);
                var poison = new[] { "\r", "\n", "\r\n", "\0", "\u00ff\u00fe" }[random.Next(5)];
                description = $"header {header} carries {Printable(poison)}";
                switch (header)
                {
                    case 0:
                        contentType += poison + "x";
                        break;
                    case 1:
                        headers.Add(("X-Correlation-Id", "a" + poison + "Injected: yes"));
                        break;
                    case 2 when headers.Count > 0:
                        headers[0] = (headers[0].Name, headers[0].Value + poison + "b");
                        break;
                    default:
                        headers.Add(("Accept", "text/html" + poison + "\tfolded"));
                        break;
                }

                (_, body) = Good(target);
                break;
            case 10:
                (description, body) = Good(target);
                var query = random.Next(5) switch
                {
                    0 => "%zz",
                    1 => "%FF%FE%FD",
                    2 => "%ED%A0%80",
                    3 => "handler=" + new string('x', random.Next(1, 4096)),
                    _ => "a=%",
                };
                path += (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + query;
                description = $"query '{Printable(query[..Math.Min(query.Length, 24)])}'";
                break;
            default:
                (description, body) = RandomBytes(random);
                break;
        }

        return (description, Build(path, headers, contentType, body, chunking, random));
    }

    private enum Chunking
    {
        None,
        NonHexSize,
        NegativeSize,
        SizeBeyond64Bits,
        DataWithoutCrlf,
        SpaceInSize,
        MalformedTrailer,
        ExtensionGarbage,
    }

    private static byte[] Build(string path, List<(string Name, string Value)> headers, string contentType, byte[] body, Chunking chunking, Random random)
    {
        var all = new List<(string, string)>(headers) { ("Content-Type", contentType) };
        if (chunking == Chunking.None)
        {
            all.Add(("Content-Length", body.Length.ToString(CultureInfo.InvariantCulture)));
            return [.. RawHttp.Head("POST", path, "127.0.0.1", all), .. body];
        }

        all.Add(("Transfer-Encoding", "chunked"));
        var split = body.Length == 0 ? 0 : random.Next(body.Length);
        var first = body[..split];
        var rest = body[split..];
        var chunked = new MemoryStream();
        void Write(string text) => chunked.Write(Encoding.Latin1.GetBytes(text));
        switch (chunking)
        {
            case Chunking.NonHexSize:
                Write("zz\r\n");
                chunked.Write(body);
                Write("\r\n0\r\n\r\n");
                break;
            case Chunking.NegativeSize:
                Write("-" + body.Length.ToString("x", CultureInfo.InvariantCulture) + "\r\n");
                chunked.Write(body);
                Write("\r\n0\r\n\r\n");
                break;
            case Chunking.SizeBeyond64Bits:
                Write("1" + new string('0', 17 + random.Next(8)) + "\r\n");
                chunked.Write(body);
                Write("\r\n0\r\n\r\n");
                break;
            case Chunking.DataWithoutCrlf:
                Write(first.Length.ToString("x", CultureInfo.InvariantCulture) + "\r\n");
                chunked.Write(first);
                Write("XX" + rest.Length.ToString("x", CultureInfo.InvariantCulture) + "\r\n");
                chunked.Write(rest);
                Write("\r\n0\r\n\r\n");
                break;
            case Chunking.SpaceInSize:
                Write("1 " + body.Length.ToString("x", CultureInfo.InvariantCulture) + "\r\n");
                chunked.Write(body);
                Write("\r\n0\r\n\r\n");
                break;
            case Chunking.MalformedTrailer:
                Write(body.Length.ToString("x", CultureInfo.InvariantCulture) + "\r\n");
                chunked.Write(body);
                Write("\r\n0\r\nno colon here\r\n\r\n");
                break;
            default:
                Write(body.Length.ToString("x", CultureInfo.InvariantCulture) + ";" + new string('\u00ff', random.Next(1, 64)) + "\r\n");
                chunked.Write(body);
                Write("\r\n0\r\n\r\n");
                break;
        }

        return [.. RawHttp.Head("POST", path, "127.0.0.1", all), .. chunked.ToArray()];
    }

    private static (string, byte[]) Good(Target target) => ("well formed", Encode(target, target.Fields));

    private static byte[] Encode(Target target, IEnumerable<(string Name, string Value)> fields) => target.Kind == BodyKind.Json
        ? Encoding.UTF8.GetBytes("{" + string.Join(",", fields.Select(f => $"\"{f.Name}\":{JsonValue(f.Value)}")) + "}")
        : Encoding.ASCII.GetBytes(string.Join("&", fields.Select(f => FormEscape(f.Name) + "=" + FormEscape(f.Value))));

    /// <summary>
    /// Percent-encodes <paramref name="value"/>'s UTF-8, writing a lone surrogate as the three bytes UTF-8 would give
    /// its code point (which no valid UTF-8 holds), so that such a value can be sent at all.
    /// </summary>
    private static string FormEscape(string value)
    {
        var escaped = new StringBuilder();
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            byte[] bytes;
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                bytes = Encoding.UTF8.GetBytes(value.Substring(i++, 2));
            }
            else if (char.IsSurrogate(c))
            {
                bytes = [(byte)(0xE0 | (c >> 12)), (byte)(0x80 | ((c >> 6) & 0x3F)), (byte)(0x80 | (c & 0x3F))];
            }
            else
            {
                bytes = Encoding.UTF8.GetBytes(c.ToString());
            }

            foreach (var b in bytes)
            {
                escaped.Append(b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~'
                    ? ((char)b).ToString()
                    : "%" + b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return escaped.ToString();
    }

    /// <summary>A value as it goes into JSON: objects and arrays raw, everything else a string (escapes already written stay as they are).</summary>
    private static string JsonValue(string value) => value.StartsWith('{') || value.StartsWith('[') ? value : "\"" + value.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static (string, byte[]) WrongTypes(Random random, Target target)
    {
        var index = random.Next(target.Fields.Count);
        string[] replacements = ["12345", "-1e400", "1e999999", "true", "null", "[]", "[1,2,3]", "{}", "{\"a\":{\"b\":[null]}}", "\"\"", "0.0000000000000000000000000001", "18446744073709551616"];
        var replacement = replacements[random.Next(replacements.Length)];
        if (target.Kind == BodyKind.Json)
        {
            var fields = target.Fields.Select((f, i) => i == index ? $"\"{f.Name}\":{replacement}" : $"\"{f.Name}\":{JsonValue(f.Value)}");
            return ($"{target.Fields[index].Name} as {replacement}", Encoding.UTF8.GetBytes("{" + string.Join(",", fields) + "}"));
        }

        return ($"{target.Fields[index].Name} as {replacement}", Encode(target, target.Fields.Select((f, i) => i == index ? (f.Name, replacement) : f)));
    }

    private static (string, byte[]) Nested(Random random, Target target)
    {
        var depth = random.Next(4) switch { 0 => 64, 1 => 65, 2 => 1000, _ => random.Next(2, 100_000) };
        var open = random.Next(2) == 0 ? "[" : "{\"a\":";
        var close = open == "[" ? "]" : "}";
        var nested = string.Concat(Enumerable.Repeat(open, depth)) + "1" + string.Concat(Enumerable.Repeat(close, random.Next(2) == 0 ? depth : depth / 2));
        var index = random.Next(target.Fields.Count);
        var body = target.Kind == BodyKind.Json && random.Next(2) == 0
            ? nested
            : Encoding.UTF8.GetString(Encode(target, target.Fields.Select((f, i) => i == index ? (f.Name, nested) : f)));
        return ($"nested {depth} deep", Encoding.UTF8.GetBytes(body));
    }

    private static (string, byte[]) Truncated(Random random, Target target)
    {
        var good = Encode(target, target.Fields);
        var cut = random.Next(good.Length);
        var tail = random.Next(3) switch { 0 => "", 1 => "}}]]", _ => ",,:" };
        return ($"cut at {cut}{(tail.Length > 0 ? " + " + tail : "")}", [.. good[..cut], .. Encoding.UTF8.GetBytes(tail)]);
    }

    private static (string, byte[]) Duplicated(Random random, Target target)
    {
        var index = random.Next(target.Fields.Count);
        var twice = Enumerable.Range(0, random.Next(2, 2000)).Select(n => (target.Fields[index].Name, n % 2 == 0 ? target.Fields[index].Value : "other"));
        return ($"{target.Fields[index].Name} repeated", Encode(target, target.Fields.Concat(twice)));
    }

    private static (string, byte[]) OddUnicode(Random random, Target target)
    {
        var index = random.Next(target.Fields.Count);
        var odd = OddStrings[random.Next(OddStrings.Length)];
        var value = target.Kind == BodyKind.Form ? Regex.Unescape(odd) : odd;
        return ($"{target.Fields[index].Name} = {Printable(odd)}", Encode(target, target.Fields.Select((f, i) => i == index ? (f.Name, value) : f)));
    }

    private static (string, byte[]) Huge(Random random, Target target)
    {
        var index = random.Next(target.Fields.Count);
        var size = random.Next(3) switch { 0 => 70_000, 1 => random.Next(1 << 20, 3 << 20), _ => random.Next(1, 40_000) };
        var filler = random.Next(2) == 0 ? new string('A', size) : string.Concat(Enumerable.Repeat("\u00e9\u4e2d", size / 2));
        return ($"{target.Fields[index].Name} of {size} characters", Encode(target, target.Fields.Select((f, i) => i == index ? (f.Name, filler) : f)));
    }

    private static (string, byte[]) WithInvalidUtf8(Random random, Target target)
    {
        var good = Encode(target, target.Fields);
        var bad = InvalidUtf8[random.Next(InvalidUtf8.Length)];
        if (target.Kind == BodyKind.Form && random.Next(2) == 0)
        {
            var escaped = string.Concat(bad.Select(b => "%" + b.ToString("X2", CultureInfo.InvariantCulture)));
            var index = random.Next(target.Fields.Count);
            var form = string.Join("&", target.Fields.Select((f, i) => FormEscape(f.Name) + "=" + (i == index ? escaped : FormEscape(f.Value))));
            return ($"percent-escaped invalid UTF-8 {escaped}", Encoding.ASCII.GetBytes(form));
        }

        var at = random.Next(good.Length);
        return ($"invalid UTF-8 {Convert.ToHexString(bad)} at {at}", [.. good[..at], .. bad, .. good[at..]]);
    }

    private static (string, byte[]) RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 4096)];
        random.NextBytes(bytes);
        return ($"{bytes.Length} random bytes", bytes);
    }

    private static string Printable(string text) =>
        string.Concat(text.Select(c => c < ' ' || c > '~' ? $"\\u{(int)c:x4}" : c.ToString()));

    /// <summary>A page's title, or the first 300 characters of anything else.</summary>
    private static string Excerpt(string text) => TitlePattern().Match(text) is { Success: true } title
        ? title.Groups[1].Value.Trim()
        : text.Length <= 300 ? text : text[..300];

    [GeneratedRegex("<title>([^<]*)</title>")]
    private static partial Regex TitlePattern();
}
