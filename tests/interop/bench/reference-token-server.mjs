// oidc-provider answering client-credentials token requests as the gateway does (client_secret_basic, RFC 9068 JWT
// access tokens signed ES256 for the audience eligibility-gateway), for ./scripts/bench.sh to measure beside the
// gateway in the same run. Usage: node reference-token-server.mjs PORT
import * as jose from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
const signingKey = { ...(await jose.exportJWK(privateKey)), kid: 'reference-es256', alg: 'ES256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'leeds',
    client_secret: 'leeds-sandbox-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'eligibility.check',
    // Its only signing key is ES256, as the gateway's are.
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [signingKey] },
  scopes: ['eligibility.check'],
  ttl: { ClientCredentials: 300 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // oidc-provider names resources by absolute URI; the token's audience is the gateway's own.
      defaultResource: () => 'urn:eligibility-gateway',
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'eligibility.check',
        audience: 'eligibility-gateway',
        accessTokenFormat: 'jwt',
        accessTokenTTL: 300,
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
});
provider.listen(port, '127.0.0.1');
