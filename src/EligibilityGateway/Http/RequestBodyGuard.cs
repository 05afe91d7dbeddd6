using System.Text;
using Microsoft.Net.Http.Headers;

namespace EligibilityGateway.Http;

/// <summary>
/// Makes every failure to read a request body the client's fault. Kestrel reports most framing errors as a
/// <see cref="BadHttpRequestException"/>, but not all: a chunk size beyond 2^64 surfaces as an
/// <see cref="IOException"/> wrapping an <see cref="OverflowException"/>, and a client that goes away mid-body as a
/// connection reset. Whichever endpoint reads the body (JSON, a form, a Razor page's model binding), the failure
/// reaches the exception handler as a 400 <see cref="BadHttpRequestException"/>, never as a 500. A body declared in a
/// character set .NET cannot decode (<c>charset=utf-7</c>, which it refuses by design, or a name it does not know) is
/// refused up front with 415, before any reader trips over it.
/// </summary>
internal static class RequestBodyGuard
{
    /// <summary>Wraps the body of any request that has one; requests without a body pass untouched.</summary>
    public static IApplicationBuilder UseRequestBodyGuard(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var request = context.Request;
        if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            if (!IsDecodable(request.ContentType))
            {
                throw new BadHttpRequestException("The request body's charset is not one the gateway can decode.", StatusCodes.Status415UnsupportedMediaType);
            }

            request.Body = new GuardedStream(request.Body);
        }

        return next(context);
    });

    /// <summary>False when the content type names a charset that <see cref="Encoding.GetEncoding(string)"/> refuses.</summary>
    private static bool IsDecodable(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var mediaType) || !mediaType.Charset.HasValue)
        {
            return true; // no charset, or no parseable media type at all, which the endpoint refuses in its own words
        }

        try
        {
            _ = Encoding.GetEncoding(HeaderUtilities.RemoveQuotes(mediaType.Charset).ToString());
            return true;
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>True for what a client's body can make a read throw: the host's own refusals and I/O errors.</summary>
    private static bool IsClientFault(Exception exception) =>
        exception is IOException or InvalidDataException or OverflowException or FormatException;

    private static BadHttpRequestException Unreadable(Exception inner) =>
        new("The request body could not be read: its framing or encoding is broken, or the connection closed before it ended.", StatusCodes.Status400BadRequest, inner);

    /// <summary>A read-only pass-through whose reads turn I/O failures into <see cref="BadHttpRequestException"/>.</summary>
    private sealed class GuardedStream(Stream inner) : Stream
    {
        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            try
            {
                return inner.Read(buffer, offset, count);
            }
            catch (Exception ex) when (ex is not BadHttpRequestException && IsClientFault(ex))
            {
                throw Unreadable(ex);
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await inner.ReadAsync(buffer, cancellationToken);
            }
            catch (Exception ex) when (ex is not BadHttpRequestException && IsClientFault(ex))
            {
                throw Unreadable(ex);
            }
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
