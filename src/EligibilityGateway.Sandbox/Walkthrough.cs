namespace EligibilityGateway.Sandbox;

/// <summary>The short guided tour printed once the sandbox is up, using the addresses actually bound.</summary>
internal static class Walkthrough
{
    public static string Render(SandboxHost host, SandboxOptions options)
    {
        var gateway = host.GatewayAddress.GetLeftPart(UriPartial.Authority);
        var mock = host.MockAddress.GetLeftPart(UriPartial.Authority);
        var cache = options.Redis is null ? "in-process" : $"Redis at {options.Redis}";
        var auditLog = options.Postgres is null ? Path.Combine(host.DataDirectory, "audit.db") : "PostgreSQL";

        // The sandbox framework registers the demo's callback on port 8080 only, and the gateway matches redirect URIs
        // exactly: elsewhere, say which line the framework needs rather than let the demo fail at its first step.
        var demoNote = host.GatewayAddress.Port == 8080 ? "" : $$$"""

              The trust framework must list {{{gateway}}}/demo/callback under the council's redirect_uris
              for the demo to work on this address (edit it: the gateway reloads it).
            """;
        return $$$"""

            Eligibility Gateway sandbox is running.

              Gateway                  {{{gateway}}}
              Mock central government  {{{mock}}}  (DWP /dwp, HMRC /hmrc, Home Office /home-office)
              Trust framework          {{{host.TrustFrameworkPath}}}  (edit it: the gateway reloads it)
              Storage                  {{{host.DataDirectory}}}
              Cache                    {{{cache}}}

            Try, as Leeds City Council's caseworker system would:
              1. Get an access token (client credentials, the sandbox secret):
                   TOKEN=$(curl -s -u leeds:leeds-sandbox-secret -d grant_type=client_credentials \
                     -d scope=eligibility.check {{{gateway}}}/connect/token | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

              2. Check Smith for free school meals (identifiers go in the body, never the URL). Ask twice:
                 the first answer is live from the mock DWP, the second comes from the cache.
                   curl -s {{{gateway}}}/v1/checks -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
                     -d '{"scheme":"free-school-meals","lawfulBasis":"public-task","caseReference":"FSM-2026-000123",
                          "subject":{"nationalInsuranceNumber":"AB123456C","lastName":"Smith","dateOfBirth":"1990-01-01"}}'

              3. Take DWP down and ask about Jones: the answer is "undetermined", never "not-eligible".
                   curl -s -X PUT {{{mock}}}/_control/providers/dwp -H 'Content-Type: application/json' -d '{"outage":true}'
                   curl -s {{{gateway}}}/v1/checks -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
                     -d '{"scheme":"free-school-meals","lawfulBasis":"public-task","caseReference":"FSM-2026-000124",
                          "subject":{"nationalInsuranceNumber":"CE234567A","lastName":"Jones","dateOfBirth":"1985-05-15"}}'
                 Then bring DWP back and ask about Jones again (the same check): now the answer is "not-eligible".
                   curl -s -X DELETE {{{mock}}}/_control/providers/dwp

              Every check, allowed or refused, is in the audit log ({{{auditLog}}}).
              Read it in a browser at {{{gateway}}}/audit (sign in as auditor, password sandbox): filter,
              see checks per day, download, and press "Verify the audit trail".

            Or, in a browser, be a council and a resident at once: the demo council app at
              {{{gateway}}}/demo
            creates a consent, sends you to the gateway to sign in (smith / sandbox) and press Allow, shows the answer,
            and, once you revoke the consent at {{{gateway}}}/account, shows the next check refused (409).{{{demoNote}}}

            Sandbox clients (client_secret_basic): leeds / leeds-sandbox-secret, camden / camden-sandbox-secret,
            auditor / auditor-sandbox-secret, leeds-auditor / leeds-auditor-sandbox-secret.
            Fixtures: Smith, Jones, Taylor, Brown, Khan (see README).  Press Ctrl+C to stop.
            """;
    }
}
