using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EligibilityGateway.Tests.Security;

/// <summary>
/// HTTP/1.1 written byte by byte on a fresh loopback connection, for requests no well-behaved client would send:
/// broken chunking, CR or LF inside a header value, invalid UTF-8, a Host of the attacker's choosing.
/// </summary>
internal static class RawHttp
{
    /// <summary>What came back: the status (0 when nothing parseable did), headers, body, and how long its first byte took.</summary>
    internal sealed record Answer(int Status, IReadOnlyDictionary<string, string> Headers, byte[] Body, TimeSpan Elapsed)
    {
        public string Header(string name) => Headers.TryGetValue(name, out var value) ? value : string.Empty;

        public string Text => Encoding.UTF8.GetString(Body);
    }

    /// <summary>A request head for <paramref name="method"/> and <paramref name="path"/>, with <c>Connection: close</c>.</summary>
    public static byte[] Head(string method, string path, string host, IEnumerable<(string Name, string Value)> headers)
    {
        var head = new StringBuilder();
        head.Append(method).Append(' ').Append(path).Append(" HTTP/1.1\r\n");
        head.Append("Host: ").Append(host).Append("\r\n");
        foreach (var (name, value) in headers)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        head.Append("Connection: close\r\n\r\n");
        return Encoding.Latin1.GetBytes(head.ToString());
    }

    /// <summary>
    /// Sends <paramref name="request"/> as it is and reads until the server closes or <paramref name="timeout"/> passes.
    /// The request must be complete: the connection is not half-closed, since Kestrel aborts a request whose client
    /// has sent FIN, so a request that promises more body than it holds waits for the server's body timeout.
    /// <paramref name="source"/>, a loopback address, is where the connection comes from as the gateway sees it.
    /// </summary>
    public static async Task<Answer> SendAsync(Uri server, byte[] request, TimeSpan timeout, IPAddress? source = null)
    {
        var clock = Stopwatch.StartNew();
        using var client = source is null ? new TcpClient() : new TcpClient(new IPEndPoint(source, 0));
        using var cancellation = new CancellationTokenSource(timeout);
        var received = new MemoryStream();
        try
        {
            await client.ConnectAsync(server.Host, server.Port, cancellation.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException)
        {
            return Parse([], clock.Elapsed);
        }

        var stream = client.GetStream();

        // Read while writing: a server may answer (413, 400) and close before it has taken the whole request.
        var reading = ReadAllAsync(stream, received, clock, cancellation.Token);
        try
        {
            // The connection stays open both ways: Kestrel takes a client's FIN as the request being abandoned.
            await stream.WriteAsync(request, cancellation.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException)
        {
            // The server stopped reading; what it answered is still read below.
        }

        var firstByte = await reading;
        return Parse(received.ToArray(), firstByte ?? clock.Elapsed);
    }

    /// <summary>Reads until the server closes; answers how long the first byte of the answer took, if one came.</summary>
    private static async Task<TimeSpan?> ReadAllAsync(Stream stream, MemoryStream received, Stopwatch clock, CancellationToken cancellationToken)
    {
        TimeSpan? firstByte = null;
        var buffer = new byte[16384];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                firstByte ??= clock.Elapsed;
                received.Write(buffer, 0, read);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException)
        {
            // A server that resets the connection after answering is fine; what was read is parsed.
        }

        return firstByte;
    }

    private static Answer Parse(byte[] raw, TimeSpan elapsed)
    {
        var end = raw.AsSpan().IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return new Answer(0, new Dictionary<string, string>(), raw, elapsed);
        }

        var lines = Encoding.Latin1.GetString(raw, 0, end).Split("\r\n");
        var parts = lines[0].Split(' ');
        var status = parts.Length > 1 && int.TryParse(parts[1], out var code) ? code : 0;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                var name = line[..colon].Trim();
                headers[name] = headers.TryGetValue(name, out var earlier) ? earlier + ", " + line[(colon + 1)..].Trim() : line[(colon + 1)..].Trim();
            }
        }

        var body = raw[(end + 4)..];
        if (headers.TryGetValue("Transfer-Encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Dechunk(body);
        }

        return new Answer(status, headers, body, elapsed);
    }

    private static byte[] Dechunk(byte[] chunked)
    {
        var output = new MemoryStream();
        var position = 0;
        while (position < chunked.Length)
        {
            var lineEnd = chunked.AsSpan(position).IndexOf("\r\n"u8);
            if (lineEnd < 0 || !int.TryParse(Encoding.ASCII.GetString(chunked, position, lineEnd).Split(';')[0], System.Globalization.NumberStyles.HexNumber, null, out var size) || size == 0)
            {
                break;
            }

            position += lineEnd + 2;
            output.Write(chunked, position, Math.Min(size, chunked.Length - position));
            position += size + 2;
        }

        return output.ToArray();
    }
}
