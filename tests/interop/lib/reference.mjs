// oidc-provider, an OpenID-certified authorization server, configured as the gateway is: PAR required, PKCE S256
// required, private_key_jwt and client_secret_basic, single-use codes of 60 s, refresh-token rotation, RFC 9068 JWT
// access tokens (ES256, audience eligibility-gateway), introspection and revocation limited to the client's own
// tokens, and rich authorization requests of type eligibility-check. Runs in this process on a free port.

import { once } from 'node:events';
import http from 'node:http';
import * as jose from 'jose';
import Provider, { errors } from 'oidc-provider';

export const AUDIENCE = 'eligibility-gateway';
export const SCOPE = 'eligibility.check';

/**
 * Starts the reference server. `clients` are `{clientId, redirectUri, publicJwk}` (private_key_jwt) or
 * `{clientId, redirectUri, secret}` (client_secret_basic). Resolves to `{issuer, stop()}`.
 */
export async function startReference(clients) {
  let handler = (_request, response) => {
    response.statusCode = 503;
    response.end();
  };
  const server = http.createServer((request, response) => handler(request, response));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${server.address().port}`;

  const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const signingKey = { ...(await jose.exportJWK(privateKey)), kid: 'reference-es256', alg: 'ES256', use: 'sig' };

  const provider = new Provider(issuer, {
    clients: clients.map((client) => ({
      client_id: client.clientId,
      redirect_uris: [client.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      authorization_details_types: ['eligibility-check'],
      // Its only signing key is ES256, as the gateway's are.
      id_token_signed_response_alg: 'ES256',
      ...(client.publicJwk
        ? {
          token_endpoint_auth_method: 'private_key_jwt',
          token_endpoint_auth_signing_alg: 'ES256',
          jwks: { keys: [client.publicJwk] },
        }
        : { token_endpoint_auth_method: 'client_secret_basic', client_secret: client.secret }),
    })),
    clientAuthMethods: ['private_key_jwt', 'client_secret_basic'],
    enabledJWA: { clientAuthSigningAlgValues: ['ES256', 'PS256', 'RS256'] },
    jwks: { keys: [signingKey] },
    responseTypes: ['code'],
    scopes: ['openid', 'offline_access'],
    pkce: { required: () => true },
    // The gateway issues a refresh token with every code, and rotates it on each use.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: 300,
      AuthorizationCode: 60,
      PushedAuthorizationRequest: 90,
      RefreshToken: 3600,
      Grant: 3600,
      Interaction: 600,
      Session: 600,
    },
    findAccount: async (_ctx, accountId) => ({ accountId, claims: async () => ({ sub: accountId }) }),
    features: {
      // The development sign-in and consent pages: the reference is here for the protocol, not for its pages.
      devInteractions: { enabled: true },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true },
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => `urn:${AUDIENCE}`,
        useGrantedResource: async () => true,
        getResourceServerInfo: async () => ({
          scope: SCOPE,
          audience: AUDIENCE,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
      richAuthorizationRequests: {
        enabled: true,
        types: {
          'eligibility-check': {
            validate(_ctx, detail) {
              const members = Object.keys(detail).sort().join(',');
              if (members !== 'consent_id,type' || typeof detail.consent_id !== 'string' || detail.consent_id.length === 0) {
                throw new errors.InvalidAuthorizationDetails('eligibility-check needs exactly a consent_id');
              }
            },
          },
        },
        authorizationDetailsForGrantSource: async (ctx) => ctx.oidc.grant.rar,
        authorizationDetailsForAccessToken: async (_ctx, _token, source) => source.rar,
        authorizationDetailsForIntrospection: async (_ctx, token) => token.rar,
      },
    },
  });
  // Errors the provider answers are expected here (the suite provokes some); keep them off the test output.
  provider.on('server_error', (_ctx, error) => { process.stderr.write(`reference server_error: ${error?.stack}\n`); });
  handler = provider.callback();

  return {
    issuer,
    async stop() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
