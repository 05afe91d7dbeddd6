using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace EligibilityGateway.Authorization;

/// <summary>The parameters of one token request, each present at most once (RFC 6749 §3.2).</summary>
internal sealed class TokenRequest
{
    /// <summary>Largest form body read; a client assertion signed with a 4096-bit RSA key is under 2 KiB.</summary>
    public const int MaximumBodyBytes = 16 * 1024;

    private readonly Dictionary<string, string> parameters;

    private TokenRequest(Dictionary<string, string> parameters, string? authorization, System.Net.IPAddress? remoteAddress)
    {
        this.parameters = parameters;
        Authorization = authorization;
        RemoteAddress = remoteAddress;
    }

    /// <summary>The <c>Authorization</c> header, when exactly one was sent.</summary>
    public string? Authorization { get; }

    /// <summary>
    /// The client's address (<c>HttpContext.Connection.RemoteIpAddress</c>: the connection's peer, or the address a
    /// configured proxy forwarded, <see cref="PublicOrigin"/>); throttling counts failures per address.
    /// </summary>
    public System.Net.IPAddress? RemoteAddress { get; }

    public string? GrantType => Get(Parameters.GrantType);

    public string? Scope => Get(Parameters.Scope);

    public string? ClientId => Get(Parameters.ClientId);

    public string? ClientSecret => Get(Parameters.ClientSecret);

    public string? ClientAssertion => Get(Parameters.ClientAssertion);

    public string? ClientAssertionType => Get(Parameters.ClientAssertionType);

    /// <summary>Any parameter by name (the authorization-code and PAR parameters), null when absent or empty.</summary>
    public string? Parameter(string name) => Get(name);

    /// <summary>The names of the parameters sent with a value.</summary>
    public IEnumerable<string> ParameterNames => parameters.Keys;

    /// <summary>RFC 6749 §3.2: "Parameters sent without a value MUST be treated as if they were omitted".</summary>
    private string? Get(string name) => parameters.TryGetValue(name, out var value) ? value : null;

    /// <summary>
    /// Reads the request. Refuses (RFC 6749 §3.2) anything but a POST with an
    /// <c>application/x-www-form-urlencoded</c> body, a body over <see cref="MaximumBodyBytes"/>, and any parameter
    /// repeated; an <c>Authorization</c> header sent twice is refused too.
    /// </summary>
    public static async Task<(TokenRequest? Request, OAuthError? Error)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!HttpMethods.IsPost(request.Method))
        {
            return (null, OAuthError.InvalidRequest("The token endpoint accepts only POST (RFC 6749 section 3.2).") with { StatusCode = StatusCodes.Status405MethodNotAllowed });
        }

        if (!IsFormUrlEncoded(request.ContentType))
        {
            return (null, OAuthError.InvalidRequest("The body must be application/x-www-form-urlencoded (RFC 6749 section 4.4.2)."));
        }

        if (request.Headers.Authorization.Count > 1)
        {
            return (null, OAuthError.InvalidRequest("The Authorization header is repeated."));
        }

        if (request.ContentLength > MaximumBodyBytes)
        {
            return (null, OAuthError.InvalidRequest($"The body exceeds {MaximumBodyBytes} bytes."));
        }

        Dictionary<string, StringValues> form;
        try
        {
            using var reader = new FormReader(new LengthLimitedStream(request.Body, MaximumBodyBytes))
            {
                ValueCountLimit = 32,
                KeyLengthLimit = 64,
                ValueLengthLimit = MaximumBodyBytes,
            };
            form = await reader.ReadFormAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is InvalidDataException or BadHttpRequestException)
        {
            return (null, OAuthError.InvalidRequest($"The body is larger than {MaximumBodyBytes} bytes or has too many or too long parameters."));
        }

        var parameters = new Dictionary<string, string>(form.Count, StringComparer.Ordinal);
        foreach (var (name, values) in form)
        {
            // RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once."
            if (values.Count > 1)
            {
                return (null, OAuthError.InvalidRequest($"The parameter '{Printable(name)}' is repeated (RFC 6749 section 3.2)."));
            }

            // A value flows on into JSON, URLs and tokens, which all need Unicode text: an unpaired surrogate makes
            // Uri.EscapeDataString and UTF-8 encoders throw. UTF-8 form decoding never yields one (an invalid sequence
            // stays percent-encoded or becomes U+FFFD), so this holds the rule for every reader rather than trust it.
            if (!IsWellFormed(name) || !IsWellFormed(values[0]))
            {
                return (null, OAuthError.InvalidRequest($"The parameter '{Printable(name)}' is not well-formed Unicode text."));
            }

            if (!string.IsNullOrEmpty(values[0]))
            {
                parameters[name] = values[0]!;
            }
        }

        var authorization = request.Headers.Authorization.Count == 1 ? request.Headers.Authorization[0] : null;
        return (new TokenRequest(parameters, authorization, request.HttpContext.Connection.RemoteIpAddress), null);
    }

    /// <summary>True unless <paramref name="text"/> holds an unpaired UTF-16 surrogate.</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsFormUrlEncoded(string? contentType) =>
        contentType is not null
        && Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media)
        && media.MediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase)
        && (!media.Charset.HasValue || media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase));

    /// <summary>A value fit to echo in an error description (RFC 6749 §5.2 character set): short, printable ASCII, no quote or backslash.</summary>
    [return: NotNullIfNotNull(nameof(value))]
    public static string? Printable(string? value) =>
        value is null ? null : new string(value.Take(64).Select(c => c is >= ' ' and <= '~' and not '"' and not '\\' ? c : '?').ToArray());

    /// <summary>The parameter names this endpoint reads.</summary>
    public static class Parameters
    {
        public const string GrantType = "grant_type";
        public const string Scope = "scope";
        public const string ClientId = "client_id";
        public const string ClientSecret = "client_secret";
        public const string ClientAssertion = "client_assertion";
        public const string ClientAssertionType = "client_assertion_type";
    }

    /// <summary>Stops reading past a byte budget, whatever the Content-Length said (chunked bodies have none).</summary>
    private sealed class LengthLimitedStream(Stream inner, long limit) : Stream
    {
        private long read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Count(int bytes)
        {
            read += bytes;
            return read > limit ? throw new InvalidDataException("The body exceeds the limit.") : bytes;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
