// The client side, done by oauth4webapi (OpenID-certified) wherever it can be: discovery, PAR, authorization
// response validation, code exchange, refresh, introspection, revocation and RFC 9068 access-token validation.

import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';

/** Loopback servers speak plain HTTP; oauth4webapi refuses it unless told. */
export const insecure = { [oauth.allowInsecureRequests]: true };

export async function discover(issuer) {
  const url = new URL(issuer);
  return oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, { algorithm: 'oidc', ...insecure }));
}

/** A fresh PKCE pair (RFC 7636, S256) and state. */
export async function pkce() {
  const verifier = oauth.generateRandomCodeVerifier();
  return { verifier, challenge: await oauth.calculatePKCECodeChallenge(verifier), state: oauth.generateRandomState() };
}

/** PAR as a council sends it: response_type code, PKCE S256, authorization_details. */
export function parParameters({ redirectUri, scope, challenge, state, details }) {
  return {
    response_type: 'code',
    redirect_uri: redirectUri,
    scope,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    authorization_details: JSON.stringify(details),
  };
}

export async function push(as, { client, auth }, parameters) {
  return oauth.processPushedAuthorizationResponse(as, client,
    await oauth.pushedAuthorizationRequest(as, client, auth, parameters, insecure));
}

/** The URL the citizen's browser is sent to after PAR: client_id and request_uri only (RFC 9126 §4). */
export function authorizationUrl(as, client, requestUri) {
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('client_id', client.client_id);
  url.searchParams.set('request_uri', requestUri);
  return url;
}

export async function exchange(as, { client, auth }, callbackParameters, redirectUri, verifier) {
  return oauth.processAuthorizationCodeResponse(as, client,
    await oauth.authorizationCodeGrantRequest(as, client, auth, callbackParameters, redirectUri, verifier, insecure));
}

export async function refresh(as, { client, auth }, refreshToken) {
  return oauth.processRefreshTokenResponse(as, client,
    await oauth.refreshTokenGrantRequest(as, client, auth, refreshToken, insecure));
}

export async function introspect(as, { client, auth }, token) {
  return oauth.processIntrospectionResponse(as, client,
    await oauth.introspectionRequest(as, client, auth, token, insecure));
}

export async function revoke(as, { client, auth }, token) {
  return oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, token, insecure));
}

export async function clientCredentials(as, { client, auth }, scope) {
  return oauth.processClientCredentialsResponse(as, client,
    await oauth.clientCredentialsGrantRequest(as, client, auth, { scope }, insecure));
}

/** RFC 9068 §4, as a resource server would: signature from the JWKS, iss, aud, exp, typ at+jwt. */
export async function validateAccessToken(as, accessToken, audience) {
  const request = new Request('http://127.0.0.1/resource', { headers: { authorization: `Bearer ${accessToken}` } });
  return oauth.validateJwtAccessToken(as, request, audience, insecure);
}

/**
 * Awaits a refusal that oauth4webapi reports as an OAuth error response (RFC 6749 §5.2), and checks its HTTP
 * status, `error` code and, when given, that `error_description` matches.
 */
export async function rejectsWith(promise, { status, error, description }) {
  let caught;
  try {
    await promise;
  } catch (thrown) {
    caught = thrown;
  }
  assert.ok(caught, `expected the server to refuse with ${error}, but it accepted`);
  if (caught instanceof oauth.WWWAuthenticateChallengeError) {
    // A 401 with an HTTP authentication challenge (RFC 6749 §5.2 for client_secret_basic): the body is the error.
    const body = await caught.response.json();
    caught = Object.assign(caught, { error: body.error, error_description: body.error_description });
  }
  assert.ok(caught instanceof oauth.ResponseBodyError || caught instanceof oauth.WWWAuthenticateChallengeError,
    `expected an OAuth error response, got ${caught?.stack ?? caught}`);
  assert.equal(caught.error, error, `error (description: ${caught.error_description})`);
  assert.equal(caught.status, status, 'HTTP status');
  if (description) {
    assert.match(caught.error_description ?? '', description);
  }
  return caught;
}

export { oauth };
