using System.Net;
using System.Net.Sockets;

namespace EligibilityGateway.Tests.Infrastructure;

/// <summary>
/// Browser-like clients whose connections come from a chosen loopback address. All of 127.0.0.0/8 is loopback, so a
/// test can be many callers at once, each with its own address as the gateway sees it
/// (<c>HttpContext.Connection.RemoteIpAddress</c>), without a proxy or forwarded headers.
/// </summary>
internal static class LoopbackSource
{
    /// <summary>The <paramref name="caller"/>th caller's address, 127.10.x.y, never 127.0.0.1 (the default source).</summary>
    public static IPAddress Address(int caller)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(caller);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(caller, 250 * 250);
        return new IPAddress([127, 10, (byte)(caller / 250), (byte)((caller % 250) + 1)]);
    }

    /// <summary>A client of <paramref name="baseAddress"/> connecting from <paramref name="source"/>: cookies kept, redirects not followed.</summary>
    public static HttpClient Client(Uri baseAddress, IPAddress source, CookieContainer? cookies = null) =>
        new(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = true,
            CookieContainer = cookies ?? new CookieContainer(),
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(source, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        })
        {
            BaseAddress = baseAddress,
        };
}
