using System.Net;
using EligibilityGateway.Tests.Infrastructure;
using EligibilityGateway.Tests.TrustFramework;

namespace EligibilityGateway.Tests.Authorization;

/// <summary>
/// Guessing <c>client_secret_basic</c> secrets over real HTTP: ten failures from one address, or twenty for one client
/// id from anywhere, and that address or client is refused — at the token endpoint and every endpoint that
/// authenticates clients the same way — with <c>invalid_client</c>, 401, a Basic challenge and <c>Retry-After</c>.
/// </summary>
public sealed class ClientAuthenticationThrottleTests : IAsyncLifetime
{
    private const string WrongSecret = "not-the-secret";

    /// <summary>The documented description of a throttled attempt (Authorization/README.md).</summary>
    internal const string Throttled = "Too many failed client authentications; try again after the Retry-After delay.";

    private readonly FakeTimeProvider clock = new(TimeProvider.System.GetUtcNow());
    private AuthorizationGateway gateway = null!;

    public async Task InitializeAsync() => gateway = await AuthorizationGateway.StartAsync(SandboxClients.FrameworkPath, clock);

    public async Task DisposeAsync() => await gateway.DisposeAsync();

    [Fact]
    public async Task TenWrongSecretsFromOneAddress_ThrottleThatAddress_AtTheTokenEndpoint_AndAtParIntrospectionAndRevocation()
    {
        using var guesser = LoopbackSource.Client(gateway.BaseAddress, LoopbackSource.Address(1));
        for (var i = 0; i < 10; i++)
        {
            using var wrong = await PostAsync(guesser, "/connect/token", SandboxClients.Leeds, WrongSecret);
            (await wrong.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Be("Client authentication failed.", $"failure {i + 1} is within the limit");
            wrong.Headers.RetryAfter.Should().BeNull();
        }

        using var right = await PostAsync(guesser, "/connect/token", SandboxClients.Leeds, SandboxClients.LeedsSecret);
        await ShouldBeThrottledAsync(right, TimeSpan.FromMinutes(1));
        foreach (var path in new[] { "/connect/par", "/connect/introspect", "/connect/revoke" })
        {
            using var other = await PostAsync(guesser, path, SandboxClients.Camden, SandboxClients.CamdenSecret);
            await ShouldBeThrottledAsync(other, TimeSpan.FromMinutes(1));
        }

        using var elsewhere = LoopbackSource.Client(gateway.BaseAddress, LoopbackSource.Address(2));
        (await PostAsync(elsewhere, "/connect/token", SandboxClients.Leeds, SandboxClients.LeedsSecret)).StatusCode.Should().Be(HttpStatusCode.OK, "the limit is the address's");
    }

    [Fact]
    public async Task TwentyWrongSecretsForOneClientFromManyAddresses_ThrottleThatClientOnly()
    {
        for (var i = 0; i < 20; i++)
        {
            using var guesser = LoopbackSource.Client(gateway.BaseAddress, LoopbackSource.Address(10 + i));
            using var wrong = await PostAsync(guesser, "/connect/token", SandboxClients.Leeds, WrongSecret);
            (await wrong.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Be("Client authentication failed.", $"failure {i + 1} is within the limit");
        }

        using var council = LoopbackSource.Client(gateway.BaseAddress, LoopbackSource.Address(100));
        using var leeds = await PostAsync(council, "/connect/token", SandboxClients.Leeds, SandboxClients.LeedsSecret);
        using var camden = await PostAsync(council, "/connect/token", SandboxClients.Camden, SandboxClients.CamdenSecret);

        await ShouldBeThrottledAsync(leeds, TimeSpan.FromMinutes(1));
        camden.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task ThrottledAddress_MayTryAgainOnceItsMinuteIsOver_AndItsSuccessClearsTheCount()
    {
        using var client = LoopbackSource.Client(gateway.BaseAddress, LoopbackSource.Address(3));
        for (var i = 0; i < 10; i++)
        {
            using var _ = await PostAsync(client, "/connect/token", SandboxClients.Leeds, WrongSecret);
        }

        clock.Advance(TimeSpan.FromSeconds(59));
        using (var early = await PostAsync(client, "/connect/token", SandboxClients.Leeds, SandboxClients.LeedsSecret))
        {
            await ShouldBeThrottledAsync(early, TimeSpan.FromSeconds(1));
        }

        clock.Advance(TimeSpan.FromSeconds(1));
        (await PostAsync(client, "/connect/token", SandboxClients.Leeds, SandboxClients.LeedsSecret)).StatusCode.Should().Be(HttpStatusCode.OK);
        for (var i = 0; i < 9; i++)
        {
            using var wrong = await PostAsync(client, "/connect/token", SandboxClients.Leeds, WrongSecret);
            (await wrong.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Be("Client authentication failed.", "the success cleared the address's count");
        }
    }

    [Fact]
    public async Task RequestsWithoutBasicCredentials_AreNotCounted()
    {
        using var client = LoopbackSource.Client(gateway.BaseAddress, LoopbackSource.Address(4));
        for (var i = 0; i < 15; i++)
        {
            using var noCredentials = await client.PostAsync("/connect/token", new FormUrlEncodedContent([new("grant_type", "client_credentials"), new("client_id", SandboxClients.Leeds)]));
            ((int)noCredentials.StatusCode).Should().Be(401);
        }

        (await PostAsync(client, "/connect/token", SandboxClients.Leeds, SandboxClients.LeedsSecret)).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    private static async Task ShouldBeThrottledAsync(HttpResponseMessage response, TimeSpan retryAfter)
    {
        (await response.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Be(Throttled);
        response.Headers.WwwAuthenticate.Should().ContainSingle(h => h.Scheme == "Basic", "RFC 6749 section 5.2: the client used the Authorization header");
        response.Headers.RetryAfter!.Delta.Should().Be(retryAfter);
    }

    /// <summary>A client_secret_basic request to <paramref name="path"/>, with the parameters that endpoint needs.</summary>
    private static Task<HttpResponseMessage> PostAsync(HttpClient client, string path, string clientId, string secret)
    {
        List<KeyValuePair<string, string>> form = path switch
        {
            "/connect/token" => [new("grant_type", "client_credentials")],
            // Complete enough that the client is authenticated: PAR checks the request's own parameters first.
            "/connect/par" => [new("response_type", "code"), new("redirect_uri", "https://council.example/callback"), new("scope", "eligibility.check"),
                new("code_challenge", new string('A', 43)), new("code_challenge_method", "S256")],
            _ => [new("token", "not-a-token")],
        };
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = AuthorizationGateway.Basic(clientId, secret);
        return client.SendAsync(request);
    }
}
