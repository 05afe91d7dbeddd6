namespace EligibilityGateway.Sandbox;

/// <summary>The short guided tour printed once the sandbox is up, using the addresses actually bound.</summary>
internal static class Walkthrough
{
    public static string Render(SandboxHost host, SandboxOptions options)
    {
        var gateway = host.GatewayAddress.GetLeftPart(UriPartial.Authority);
        var mock = host.MockAddress.GetLeftPart(UriPartial.Authority);
        var cache = options.Redis is null ? "in-process" : $"Redis at {options.Redis}";
        return $$"""

            Eligibility Gateway sandbox is running.

              Gateway                  {{gateway}}
              Mock central government  {{mock}}  (DWP /dwp, HMRC /hmrc, Home Office /home-office)
              Trust framework          {{host.TrustFrameworkPath}}  (edit it: the gateway reloads it)
              Storage                  {{host.DataDirectory}}
              Cache                    {{cache}}

            Try:
              1. Is the gateway ready?
                   curl -i {{gateway}}/health/ready

              2. Ask DWP about Smith, the sandbox's eligible fixture (identifiers go in the body, never the URL):
                   curl -s -X POST {{mock}}/dwp/v1/citizens/match \
                     -H 'Authorization: Bearer dwp-sandbox-credential' -H 'Content-Type: application/json' \
                     -d '{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"1990-01-01"}'

              3. Slow DWP down by 200 ms, then put it back:
                   curl -s -X PUT {{mock}}/_control/providers/dwp -H 'Content-Type: application/json' -d '{"latencyMilliseconds":200}'
                   curl -s -X DELETE {{mock}}/_control/providers/dwp

            Sandbox clients (client_secret_basic): leeds / leeds-sandbox-secret, camden / camden-sandbox-secret,
            auditor / auditor-sandbox-secret, leeds-auditor / leeds-auditor-sandbox-secret.
            Fixtures: Smith, Jones, Taylor, Brown, Khan (see README).  Press Ctrl+C to stop.
            """;
    }
}
