// The gateway's OAuth flow driven by independent client code: oauth4webapi, an OpenID-certified client
// library, does the protocol; jose forges what a well-behaved client never sends. The same positive flow runs against
// oidc-provider, an OpenID-certified server configured as the gateway is, so that each step is shown to be the
// standard one and not a private dialect. Run with `npm test` here (README.md).

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import * as jose from 'jose';
import { Browser, forms } from './lib/browser.mjs';
import {
  authorizeInBrowser, checkUnderConsent, checkWithRawToken, consentRequest, createConsent, signIn,
} from './lib/gateway.mjs';
import {
  authorizationUrl, clientCredentials, discover, exchange, introspect, oauth, parParameters, pkce, push, refresh,
  insecure, rejectsWith, revoke, validateAccessToken,
} from './lib/oauth.mjs';
import { AUDIENCE, SCOPE, startReference } from './lib/reference.mjs';
import {
  councilKeyPair, gatewaySigningKey, keyedCouncil, startSandbox, writeFramework,
} from './lib/sandbox.mjs';

const LEEDS_SECRET = 'leeds-sandbox-secret';
const CAMDEN_SECRET = 'camden-sandbox-secret';

// Filled in by the top-level before(): the running servers and what the tests need of them.
const world = {};

before(async () => {
  world.directory = await mkdtemp(path.join(tmpdir(), 'egw-interop-'));
  const keys = await councilKeyPair();
  world.councilKey = keys.privateKey;
  world.publicJwk = { ...keys.publicJwk, kid: keyedCouncil.kid, alg: 'ES256', use: 'sig' };
  const { file, leedsRedirectUri } = await writeFramework(world.directory, keys.publicJwk);
  world.leedsRedirectUri = leedsRedirectUri;

  // Two gateways: the one every test uses, and one whose request_uri lives 1 s, for the expiry case alone.
  const started = await Promise.allSettled([
    startSandbox({ framework: file, label: 'gateway' }),
    startSandbox({ framework: file, label: 'short-par', settings: { 'Authorization:PushedRequestLifetime': '00:00:01' } }),
    startReference([
      { clientId: keyedCouncil.clientId, redirectUri: keyedCouncil.redirectUri, publicJwk: world.publicJwk },
      { clientId: 'leeds', redirectUri: leedsRedirectUri, secret: LEEDS_SECRET },
    ]),
  ]);
  // Whatever started is stopped by after(), even when something else did not start.
  [world.sandbox, world.shortLived, world.reference] = started.map((s) => s.value);
  const failure = started.find((s) => s.status === 'rejected');
  if (failure) {
    throw failure.reason;
  }
});

after(async () => {
  await Promise.allSettled([world.sandbox?.stop(), world.shortLived?.stop(), world.reference?.stop()]);
  if (world.directory) {
    await rm(world.directory, { recursive: true, force: true });
  }
});

/** The two ways a council authenticates (private_key_jwt, client_secret_basic), as oauth4webapi client + ClientAuth. */
function clientsFor() {
  return {
    private_key_jwt: {
      client: { client_id: keyedCouncil.clientId },
      auth: oauth.PrivateKeyJwt({ key: world.councilKey, kid: keyedCouncil.kid }),
      redirectUri: keyedCouncil.redirectUri,
    },
    client_secret_basic: {
      client: { client_id: 'leeds' },
      auth: oauth.ClientSecretBasic(LEEDS_SECRET),
      redirectUri: world.leedsRedirectUri,
    },
  };
}

const gatewayPeer = {
  name: 'gateway',
  introspectable: ['access_token', 'refresh_token'],
  async setUp() {
    this.issuer = world.sandbox.gateway;
    // The issuer identifier as the gateway publishes it: the URL's serialised form, with the slash of an empty path.
    this.publishedIssuer = new URL(world.sandbox.gateway).href;
    this.as = await discover(this.issuer);
    this.clients = clientsFor();
  },
  // The council creates the consent first (POST /v1/consents); the authorization request names it.
  async authorizationDetails(council) {
    return [{ type: 'eligibility-check', consent_id: await createConsent(this.issuer, this.as, council) }];
  },
  authorize(url) {
    return authorizeInBrowser(this.issuer, url);
  },
};

const referencePeer = {
  name: 'reference: oidc-provider',
  // oidc-provider does not introspect structured (JWT) access tokens (unsupported_token_type): RFC 7662 leaves
  // that to the server, and a resource server validates them itself, as the step before does.
  introspectable: ['refresh_token'],
  async setUp() {
    this.issuer = world.reference.issuer;
    this.publishedIssuer = world.reference.issuer;
    this.as = await discover(this.issuer);
    this.clients = clientsFor();
  },
  async authorizationDetails() {
    return [{ type: 'eligibility-check', consent_id: randomUUID() }];
  },
  // oidc-provider's own sign-in and consent pages: GET → 303 → login form → POST → consent form → POST → 303 → code.
  async authorize(url, redirectUri) {
    const browser = new Browser();
    const stop = (location) => location.href.startsWith(redirectUri);
    let { response, url: at, stoppedAt } = await browser.follow(url, { stop });
    for (const prompt of ['login', 'consent']) {
      assert.equal(stoppedAt, undefined, `the ${prompt} page comes before the redirect`);
      const html = await response.text();
      const form = forms(html, at).find((f) => f.fields.prompt === prompt);
      assert.ok(form, `oidc-provider shows its ${prompt} page`);
      const fields = prompt === 'login' ? { ...form.fields, login: 'smith', password: 'sandbox' } : form.fields;
      const posted = await browser.post(form.action, fields);
      ({ response, url: at, stoppedAt } = await browser.follow(form.action, { stop, first: posted }));
    }
    assert.ok(stoppedAt, 'the consent ends in a redirect to the client');
    return stoppedAt;
  },
};

/**
 * The positive flow, the same against both servers: discovery → PAR (PKCE S256, authorization_details) → the
 * citizen signs in and allows → validateAuthResponse (state, iss) → code exchange → RFC 9068 access token →
 * refresh with rotation → introspection → revocation.
 */
function describeCodeFlow(peer, method, extraSteps = {}) {
  describe(`authorization code with ${method}`, () => {
    const s = {};
    const c = () => peer.clients[method];

    it('pushes the authorization request (PAR) with PKCE S256 and authorization_details', async () => {
      Object.assign(s, await pkce());
      s.details = await peer.authorizationDetails(c());
      const par = await push(peer.as, c(), parParameters({ redirectUri: c().redirectUri, scope: SCOPE, challenge: s.challenge, state: s.state, details: s.details }));
      assert.match(par.request_uri, /^urn:ietf:params:oauth:request_uri:/);
      assert.ok(par.expires_in > 0 && par.expires_in <= 600, `expires_in ${par.expires_in}`);
      s.requestUri = par.request_uri;
    });

    it('signs the citizen in, takes their Allow and returns a code with iss, which validateAuthResponse accepts', async () => {
      const location = await peer.authorize(authorizationUrl(peer.as, c().client, s.requestUri), c().redirectUri);
      assert.equal(`${location.origin}${location.pathname}`, c().redirectUri, 'the registered redirect URI, exactly');
      assert.equal(location.searchParams.get('iss'), peer.as.issuer, 'RFC 9207 iss');
      s.callback = oauth.validateAuthResponse(peer.as, c().client, location, s.state);
      assert.ok(s.callback.get('code'));
    });

    it('exchanges the code and the PKCE verifier for tokens that echo authorization_details', async () => {
      s.tokens = await exchange(peer.as, c(), s.callback, c().redirectUri, s.verifier);
      assert.equal(s.tokens.token_type, 'bearer');
      assert.ok(s.tokens.refresh_token, 'a refresh token comes with the code exchange');
      assert.ok(s.tokens.expires_in > 0 && s.tokens.expires_in <= 600);
      assert.deepEqual(s.tokens.scope.split(' ').filter((t) => t === SCOPE), [SCOPE]);
      assert.deepEqual(s.tokens.authorization_details, s.details);
    });

    it('issues an RFC 9068 JWT access token for eligibility-gateway that a resource server validates', async () => {
      const claims = await validateAccessToken(peer.as, s.tokens.access_token, AUDIENCE);
      assert.equal(claims.client_id, c().client.client_id);
      assert.ok(claims.sub);
      assert.deepEqual(claims.authorization_details, s.details);
    });

    if (extraSteps.afterExchange) {
      it(extraSteps.afterExchange.title, () => extraSteps.afterExchange.run(s, c()));
    }

    it('refreshes, rotating the refresh token and keeping authorization_details', async () => {
      const rotated = await refresh(peer.as, c(), s.tokens.refresh_token);
      assert.notEqual(rotated.refresh_token, s.tokens.refresh_token, 'a new refresh token on each use');
      assert.notEqual(rotated.access_token, s.tokens.access_token);
      assert.deepEqual(rotated.authorization_details, s.details);
      await validateAccessToken(peer.as, rotated.access_token, AUDIENCE);
      s.rotated = rotated;
    });

    it(`introspects the ${peer.introspectable.join(' and the ')} as active, with authorization_details naming the consent`, async () => {
      for (const kind of peer.introspectable) {
        const introspection = await introspect(peer.as, c(), s.rotated[kind]);
        assert.equal(introspection.active, true, kind);
        assert.equal(introspection.client_id, c().client.client_id, kind);
        assert.ok(introspection.scope.split(' ').includes(SCOPE), kind);
        assert.deepEqual(introspection.authorization_details, s.details, kind);
        assert.equal(introspection.authorization_details[0].consent_id, s.details[0].consent_id, kind);
      }
    });

    it('revokes the refresh token: it no longer refreshes and introspects inactive', async () => {
      await revoke(peer.as, c(), s.rotated.refresh_token);
      for (const kind of peer.introspectable) {
        // RFC 7009 §2.1: revoking a refresh token also invalidates the access tokens of the same grant.
        assert.equal((await introspect(peer.as, c(), s.rotated[kind])).active, false, kind);
      }
      await rejectsWith(refresh(peer.as, c(), s.rotated.refresh_token), { status: 400, error: 'invalid_grant' });
    });

    if (extraSteps.afterRevocation) {
      it(extraSteps.afterRevocation.title, () => extraSteps.afterRevocation.run(s, c()));
    }
  });
}

/**
 * OpenID Connect on the same flow: with `openid` and a `nonce` pushed, the code exchange must answer an ID token
 * (OpenID Connect Core §3.1.3.3) for the client, carrying the nonce, signed with a key of the JWKS.
 */
function describeOpenIdConnect(peer, { userinfo = false } = {}) {
  describe('OpenID Connect', () => {
    const s = {};
    const c = () => peer.clients.private_key_jwt;

    it('publishes the OpenID Connect Discovery members it must (subject types, ID token algorithms)', () => {
      assert.ok(Array.isArray(peer.as.subject_types_supported) && peer.as.subject_types_supported.length > 0);
      assert.ok(peer.as.id_token_signing_alg_values_supported.includes('ES256'));
    });

    it('answers an ID token carrying the nonce, signed with a key of its JWKS, for a code whose grant includes openid', async () => {
      Object.assign(s, await pkce());
      s.nonce = oauth.generateRandomNonce();
      s.details = await peer.authorizationDetails(c());
      const par = await push(peer.as, c(), {
        ...parParameters({ redirectUri: c().redirectUri, scope: `openid ${SCOPE}`, challenge: s.challenge, state: s.state, details: s.details }),
        nonce: s.nonce,
      });
      const location = await peer.authorize(authorizationUrl(peer.as, c().client, par.request_uri), c().redirectUri);
      const callback = oauth.validateAuthResponse(peer.as, c().client, location, s.state);
      const response = await oauth.authorizationCodeGrantRequest(peer.as, c().client, c().auth, callback, c().redirectUri, s.verifier, insecure);
      s.tokens = await oauth.processAuthorizationCodeResponse(peer.as, c().client, response, { expectedNonce: s.nonce, requireIdToken: true });
      s.claims = oauth.getValidatedIdTokenClaims(s.tokens);
      assert.equal(s.claims.nonce, s.nonce);
      assert.equal(s.claims.aud, c().client.client_id);
      assert.equal(s.claims.sub, jose.decodeJwt(s.tokens.access_token).sub, 'the same subject as the access token');
      const { payload } = await jose.jwtVerify(s.tokens.id_token, jose.createRemoteJWKSet(new URL(peer.as.jwks_uri)),
        { issuer: peer.as.issuer, audience: c().client.client_id, algorithms: ['ES256'] });
      assert.equal(payload.sub, s.claims.sub);
    });

    if (userinfo) {
      it('userinfo answers the ID token\'s sub for the access token', async () => {
        const response = await oauth.userInfoRequest(peer.as, c().client, s.tokens.access_token, insecure);
        const info = await oauth.processUserInfoResponse(peer.as, c().client, s.claims.sub, response);
        assert.deepEqual(Object.keys(info), ['sub'], 'the subject only, no personal data');
      });
    }
  });
}

function describeDiscovery(peer) {
  it('discovery: PAR required, S256 only, iss in responses, both client authentication methods, RAR type', () => {
    const as = peer.as;
    assert.equal(as.issuer, peer.publishedIssuer);
    assert.equal(as.require_pushed_authorization_requests, true);
    assert.ok(as.pushed_authorization_request_endpoint);
    assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
    assert.equal(as.authorization_response_iss_parameter_supported, true);
    for (const method of ['private_key_jwt', 'client_secret_basic']) {
      assert.ok(as.token_endpoint_auth_methods_supported.includes(method), method);
    }
    assert.ok(as.authorization_details_types_supported.includes('eligibility-check'));
    assert.ok(as.scopes_supported.includes('openid'), 'OpenID Connect Discovery 1.0 §3: openid is listed');
    for (const endpoint of ['introspection_endpoint', 'revocation_endpoint', 'jwks_uri', 'token_endpoint']) {
      assert.ok(as[endpoint], endpoint);
    }
  });
}

describe('gateway', () => {
  before(() => gatewayPeer.setUp());
  describeDiscovery(gatewayPeer);

  const gatewaySteps = {
    afterExchange: {
      title: 'checks under the consent-bound token: Smith is eligible, under the consent',
      async run(s) {
        const check = await checkUnderConsent(gatewayPeer.issuer, s.tokens.access_token);
        assert.equal(check.status, 200, JSON.stringify(check.body));
        assert.equal(check.body.outcome, 'eligible');
        assert.equal(check.body.lawfulBasis, 'consent');
        assert.equal(check.body.consentId, s.details[0].consent_id);
      },
    },
    afterRevocation: {
      title: 'token revocation leaves the consent authorised',
      async run(s, council) {
        const consent = await consentRequest(gatewayPeer.issuer, gatewayPeer.as, council, s.details[0].consent_id);
        assert.equal(consent.status, 200);
        assert.equal(consent.body.status, 'authorised');
      },
    },
  };
  describeCodeFlow(gatewayPeer, 'private_key_jwt', gatewaySteps);
  describeCodeFlow(gatewayPeer, 'client_secret_basic', gatewaySteps);
  describeOpenIdConnect(gatewayPeer, { userinfo: true });
});

describe('gateway: refusals', () => {
  const peer = gatewayPeer;
  const gateway = () => peer.issuer;
  const keyed = () => peer.clients.private_key_jwt;
  const leeds = () => peer.clients.client_secret_basic;
  const camden = () => ({ client: { client_id: 'camden' }, auth: oauth.ClientSecretBasic(CAMDEN_SECRET), redirectUri: world.leedsRedirectUri });

  before(() => peer.setUp());

  /** A consent, pushed: `{consentId, requestUri, url, verifier, state, details}`. */
  async function pushed(council = keyed(), as = peer.as, issuer = gateway()) {
    const p = await pkce();
    const consentId = await createConsent(issuer, as, council);
    const details = [{ type: 'eligibility-check', consent_id: consentId }];
    const { request_uri: requestUri } = await push(as, council, parParameters({ redirectUri: council.redirectUri, scope: SCOPE, challenge: p.challenge, state: p.state, details }));
    return { ...p, consentId, details, requestUri, url: authorizationUrl(as, council.client, requestUri) };
  }

  /** A consent the citizen allowed: the above plus the validated callback parameters. */
  async function allowed(council = keyed()) {
    const request = await pushed(council);
    const location = await authorizeInBrowser(gateway(), request.url);
    return { ...request, callback: oauth.validateAuthResponse(peer.as, council.client, location, request.state) };
  }

  /** Tokens under a consent the citizen allowed. */
  async function tokensFor(council = keyed()) {
    const grant = await allowed(council);
    return { ...grant, tokens: await exchange(peer.as, council, grant.callback, council.redirectUri, grant.verifier) };
  }

  /** PAR parameters for a fresh consent of the keyed council, with changes. */
  async function parWith(changes) {
    const p = await pkce();
    const consentId = await createConsent(gateway(), peer.as, keyed());
    const parameters = parParameters({ redirectUri: keyed().redirectUri, scope: SCOPE, challenge: p.challenge, state: p.state, details: [{ type: 'eligibility-check', consent_id: consentId }] });
    for (const [name, value] of Object.entries(changes)) {
      if (value === undefined) {
        delete parameters[name];
      } else {
        parameters[name] = value;
      }
    }
    return parameters;
  }

  /** The authorization endpoint's error page: 400, and no redirect anywhere (RFC 9126 §4, RFC 6749 §4.1.2.1). */
  async function assertErrorPage(response) {
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('location'), null, 'never a redirect to an untrusted redirect URI');
    assert.match(await response.text(), /This request to check your details cannot be used/);
  }

  it('PAR without PKCE is invalid_request', async () => {
    await rejectsWith(push(peer.as, keyed(), await parWith({ code_challenge: undefined, code_challenge_method: undefined })),
      { status: 400, error: 'invalid_request', description: /'code_challenge' parameter is missing/ });
  });

  it('PAR with the plain PKCE method is invalid_request', async () => {
    const verifier = oauth.generateRandomCodeVerifier();
    await rejectsWith(push(peer.as, keyed(), await parWith({ code_challenge: verifier, code_challenge_method: 'plain' })),
      { status: 400, error: 'invalid_request', description: /'code_challenge_method' is not supported/ });
  });

  it('PAR with a redirect URI the council did not register is invalid_request', async () => {
    await rejectsWith(push(peer.as, keyed(), await parWith({ redirect_uri: `${keyed().redirectUri}/elsewhere` })),
      { status: 400, error: 'invalid_request', description: /'redirect_uri' is not valid for this client/ });
  });

  it('PAR carrying a request_uri of its own is invalid_request (RFC 9126 §2.1)', async () => {
    await rejectsWith(push(peer.as, keyed(), await parWith({ request_uri: 'urn:ietf:params:oauth:request_uri:chosen-by-client' })),
      { status: 400, error: 'invalid_request', description: /'request_uri' parameter is not valid in this context/ });
  });

  it('PAR naming another council\'s consent is invalid_authorization_details, and the consent is not theirs to read', async () => {
    const leedsConsent = await createConsent(gateway(), peer.as, leeds());
    const p = await pkce();
    await rejectsWith(push(peer.as, camden(), parParameters({ redirectUri: camden().redirectUri, scope: SCOPE, challenge: p.challenge, state: p.state, details: [{ type: 'eligibility-check', consent_id: leedsConsent }] })),
      { status: 400, error: 'invalid_authorization_details', description: /not name a consent of this council/ });
    assert.equal((await consentRequest(gateway(), peer.as, camden(), leedsConsent)).status, 404);
    assert.equal((await consentRequest(gateway(), peer.as, camden(), leedsConsent, 'DELETE')).status, 404);
    assert.equal((await consentRequest(gateway(), peer.as, leeds(), leedsConsent)).body.status, 'awaiting-authorisation');
  });

  it('authorization parameters sent to /connect/authorize instead of through PAR are an error page, never a redirect', async () => {
    const browser = await signIn(gateway());
    const request = await pushed();
    const withScope = new URL(request.url);
    withScope.searchParams.set('scope', SCOPE);
    await assertErrorPage(await browser.get(withScope));

    const p = await pkce();
    const classic = new URL(peer.as.authorization_endpoint);
    for (const [name, value] of Object.entries({ client_id: keyed().client.client_id, ...parParameters({ redirectUri: keyed().redirectUri, scope: SCOPE, challenge: p.challenge, state: p.state, details: request.details }) })) {
      classic.searchParams.set(name, value);
    }
    await assertErrorPage(await browser.get(classic));
    // The pushed request itself is untouched by the refused ones.
    assert.equal((await browser.get(request.url)).status, 200);
  });

  it('an expired request_uri is an error page', async () => {
    const short = world.shortLived.gateway;
    const as = await discover(short);
    const council = keyed();
    const p = await pkce();
    const consentId = await createConsent(short, as, council);
    const par = await push(as, council, parParameters({ redirectUri: council.redirectUri, scope: SCOPE, challenge: p.challenge, state: p.state, details: [{ type: 'eligibility-check', consent_id: consentId }] }));
    assert.equal(par.expires_in, 1, 'Authorization:PushedRequestLifetime is announced as expires_in');
    const browser = await signIn(short);
    await delay(2_000);
    await assertErrorPage(await browser.get(authorizationUrl(as, council.client, par.request_uri)));
  });

  it('a request_uri already decided is an error page, and pressing Allow again decides nothing', async () => {
    const request = await pushed();
    const browser = await signIn(gateway());
    const page = await browser.get(request.url);
    const form = forms(await page.text(), request.url).find((f) => f.buttons.some((b) => b.value === 'allow'));
    assert.equal((await browser.post(form.action, { ...form.fields, decision: 'allow' })).status, 303);

    await assertErrorPage(await browser.get(request.url));
    await assertErrorPage(await browser.post(form.action, { ...form.fields, decision: 'allow' }));
    await assertErrorPage(await browser.post(form.action, { ...form.fields, decision: 'deny' }));
    assert.equal((await consentRequest(gateway(), peer.as, keyed(), request.consentId)).body.status, 'authorised');
  });

  it('Deny answers access_denied, which validateAuthResponse reports, and rejects the consent', async () => {
    const request = await pushed();
    const location = await authorizeInBrowser(gateway(), request.url, 'deny');
    assert.throws(() => oauth.validateAuthResponse(peer.as, keyed().client, location, request.state),
      (error) => error instanceof oauth.AuthorizationResponseError && error.error === 'access_denied');
    assert.equal((await consentRequest(gateway(), peer.as, keyed(), request.consentId)).body.status, 'rejected');
  });

  it('a wrong PKCE verifier is invalid_grant', async () => {
    const grant = await allowed();
    await rejectsWith(exchange(peer.as, keyed(), grant.callback, keyed().redirectUri, oauth.generateRandomCodeVerifier()),
      { status: 400, error: 'invalid_grant', description: /'code_verifier' is invalid/ });
  });

  it('a redirect URI at the token endpoint other than the pushed one is invalid_grant', async () => {
    const grant = await allowed();
    await rejectsWith(exchange(peer.as, keyed(), grant.callback, `${keyed().redirectUri}/elsewhere`, grant.verifier),
      { status: 400, error: 'invalid_grant', description: /'redirect_uri' parameter doesn't match/ });
  });

  it('a code issued to another council is invalid_grant', async () => {
    const grant = await allowed(leeds());
    await rejectsWith(exchange(peer.as, keyed(), grant.callback, leeds().redirectUri, grant.verifier),
      { status: 400, error: 'invalid_grant', description: /cannot be used by this client/ });
  });

  it('a replayed code is invalid_grant and revokes the tokens the first redemption issued', async () => {
    const grant = await tokensFor();
    assert.equal((await checkUnderConsent(gateway(), grant.tokens.access_token)).status, 200);

    await rejectsWith(exchange(peer.as, keyed(), grant.callback, keyed().redirectUri, grant.verifier),
      { status: 400, error: 'invalid_grant', description: /already been redeemed/ });

    assert.equal((await introspect(peer.as, keyed(), grant.tokens.access_token)).active, false);
    assert.equal((await introspect(peer.as, keyed(), grant.tokens.refresh_token)).active, false);
    await rejectsWith(refresh(peer.as, keyed(), grant.tokens.refresh_token), { status: 400, error: 'invalid_grant' });
    const check = await checkWithRawToken(gateway(), grant.tokens.access_token);
    assert.equal(check.status, 401);
    assert.match(check.headers.get('www-authenticate'), /error="invalid_token"/);
  });

  it('a rotated refresh token reused beyond its one grace use revokes the whole family', async () => {
    const { tokens } = await tokensFor();
    const second = await refresh(peer.as, keyed(), tokens.refresh_token);
    // One retry of the retired token is a lost response: it is answered, and the unseen successor is revoked.
    const retried = await refresh(peer.as, keyed(), tokens.refresh_token);
    await rejectsWith(refresh(peer.as, keyed(), second.refresh_token), { status: 400, error: 'invalid_grant' });
    // Any further reuse is theft: everything descending from the code goes.
    await rejectsWith(refresh(peer.as, keyed(), tokens.refresh_token), { status: 400, error: 'invalid_grant' });
    await rejectsWith(refresh(peer.as, keyed(), retried.refresh_token), { status: 400, error: 'invalid_grant' });
    assert.equal((await introspect(peer.as, keyed(), retried.access_token)).active, false);
  });

  it('a code exchange without code_verifier is invalid_request', async () => {
    const grant = await allowed();
    await rejectsWith(exchange(peer.as, keyed(), grant.callback, keyed().redirectUri, oauth.nopkce),
      { status: 400, error: 'invalid_request', description: /'code_verifier' parameter is missing/ });
  });

  it('a code exchanged after the council revoked the consent is invalid_grant', async () => {
    const grant = await allowed();
    assert.equal((await consentRequest(gateway(), peer.as, keyed(), grant.consentId, 'DELETE')).body.status, 'revoked');
    await rejectsWith(exchange(peer.as, keyed(), grant.callback, keyed().redirectUri, grant.verifier),
      { status: 400, error: 'invalid_grant', description: /no longer valid/ });
  });

  it('a refresh asking for more scope than was granted is invalid_scope', async () => {
    const { tokens } = await tokensFor();
    await rejectsWith(
      oauth.processRefreshTokenResponse(peer.as, keyed().client, await oauth.refreshTokenGrantRequest(peer.as, keyed().client, keyed().auth,
        tokens.refresh_token, { ...insecure, additionalParameters: { scope: `openid ${SCOPE}` } })),
      { status: 400, error: 'invalid_scope' });
    // Checked before the token is spent: it still refreshes.
    await refresh(peer.as, keyed(), tokens.refresh_token);
  });

  it('a refresh token presented by another council is invalid_grant', async () => {
    const { tokens } = await tokensFor();
    await rejectsWith(refresh(peer.as, leeds(), tokens.refresh_token), { status: 400, error: 'invalid_grant' });
    await refresh(peer.as, keyed(), tokens.refresh_token);
  });

  it('another council revoking a council\'s refresh token gets 200 and revokes nothing (RFC 7009 §2.2)', async () => {
    const { tokens } = await tokensFor();
    await revoke(peer.as, leeds(), tokens.refresh_token);
    await revoke(peer.as, leeds(), tokens.access_token);
    assert.equal((await introspect(peer.as, keyed(), tokens.access_token)).active, true);
    await refresh(peer.as, keyed(), tokens.refresh_token);
  });

  it('a revoked access token is refused by the check API, and the consent stays authorised', async () => {
    const { tokens, consentId } = await tokensFor();
    await revoke(peer.as, keyed(), tokens.access_token);
    assert.equal((await introspect(peer.as, keyed(), tokens.access_token)).active, false);
    const check = await checkWithRawToken(gateway(), tokens.access_token);
    assert.equal(check.status, 401);
    assert.match(check.headers.get('www-authenticate'), /error="invalid_token"/);
    assert.equal((await consentRequest(gateway(), peer.as, keyed(), consentId)).body.status, 'authorised');
    // The refresh token is not the access token: it still works, and its new access token checks.
    const renewed = await refresh(peer.as, keyed(), tokens.refresh_token);
    assert.equal((await checkUnderConsent(gateway(), renewed.access_token)).status, 200);
  });

  it('a pushed request opened under another client_id is an error page', async () => {
    const request = await pushed();
    const browser = await signIn(gateway());
    const other = new URL(request.url);
    other.searchParams.set('client_id', 'leeds');
    await assertErrorPage(await browser.get(other));
  });

  it('PAR naming a consent that is already authorised is invalid_authorization_details', async () => {
    const grant = await allowed();
    const p = await pkce();
    await rejectsWith(push(peer.as, keyed(), parParameters({ redirectUri: keyed().redirectUri, scope: SCOPE, challenge: p.challenge, state: p.state, details: grant.details })),
      { status: 400, error: 'invalid_authorization_details', description: /not awaiting authorisation/ });
  });

  it('a client assertion whose aud is the token endpoint, not the issuer, is invalid_client', async () => {
    const wrongAudience = {
      client: keyed().client,
      auth: oauth.PrivateKeyJwt({ key: world.councilKey, kid: keyedCouncil.kid }, {
        [oauth.modifyAssertion]: (_header, payload) => { payload.aud = peer.as.token_endpoint; },
      }),
    };
    await rejectsWith(clientCredentials(peer.as, wrongAudience, 'consents.manage'),
      { status: 401, error: 'invalid_client', description: /aud/ });
  });

  it('a client assertion whose jti was already used is invalid_client', async () => {
    const jti = randomUUID();
    const sameJti = {
      client: keyed().client,
      auth: oauth.PrivateKeyJwt({ key: world.councilKey, kid: keyedCouncil.kid }, {
        [oauth.modifyAssertion]: (_header, payload) => { payload.jti = jti; },
      }),
    };
    await clientCredentials(peer.as, sameJti, 'consents.manage');
    await rejectsWith(clientCredentials(peer.as, sameJti, 'consents.manage'),
      { status: 401, error: 'invalid_client' });
  });

  it('a client assertion signed by a key the trust framework does not hold is invalid_client', async () => {
    const { privateKey } = await jose.generateKeyPair('ES256');
    const impostor = { client: keyed().client, auth: oauth.PrivateKeyJwt({ key: privateKey, kid: keyedCouncil.kid }) };
    await rejectsWith(clientCredentials(peer.as, impostor, 'consents.manage'), { status: 401, error: 'invalid_client' });
  });

  it('a client assertion signed RS256 is invalid_client, as FAPI 2.0 requires, before any key is tried', async () => {
    const { privateKey } = await jose.generateKeyPair('RS256');
    const rs256 = { client: keyed().client, auth: oauth.PrivateKeyJwt({ key: privateKey, kid: keyedCouncil.kid }) };
    await rejectsWith(clientCredentials(peer.as, rs256, 'consents.manage'),
      { status: 401, error: 'invalid_client', description: /ES256 or PS256/ });
  });

  it('a client assertion whose aud is the PAR endpoint, not the issuer, is invalid_client', async () => {
    const wrongAudience = {
      client: keyed().client,
      auth: oauth.PrivateKeyJwt({ key: world.councilKey, kid: keyedCouncil.kid }, {
        [oauth.modifyAssertion]: (_header, payload) => { payload.aud = peer.as.pushed_authorization_request_endpoint; },
      }),
    };
    await rejectsWith(clientCredentials(peer.as, wrongAudience, 'consents.manage'),
      { status: 401, error: 'invalid_client', description: /aud/ });
  });

  for (const claim of ['iat', 'nbf']) {
    it(`a client assertion whose ${claim} is in the future is invalid_client`, async () => {
      const early = {
        client: keyed().client,
        auth: oauth.PrivateKeyJwt({ key: world.councilKey, kid: keyedCouncil.kid }, {
          [oauth.modifyAssertion]: (_header, payload) => { payload[claim] = Math.floor(Date.now() / 1000) + 120; },
        }),
      };
      await rejectsWith(clientCredentials(peer.as, early, 'consents.manage'),
        { status: 401, error: 'invalid_client', description: new RegExp(`${claim} is in the future`) });
    });
  }

  it('PAR with response_type=token is unsupported_response_type', async () => {
    await rejectsWith(push(peer.as, keyed(), await parWith({ response_type: 'token' })),
      { status: 400, error: 'unsupported_response_type' });
  });

  it('PAR with a parameter sent twice is invalid_request (RFC 6749 §3.1)', async () => {
    const parameters = new URLSearchParams(await parWith({}));
    parameters.append('state', 'a-second-state');
    await rejectsWith(push(peer.as, keyed(), parameters),
      { status: 400, error: 'invalid_request', description: /'state' is repeated/ });
  });

  for (const [title, details] of [
    ['of an unknown type', (consentId) => [{ type: 'payment-initiation', consent_id: consentId }]],
    ['with consent_id as a number', () => [{ type: 'eligibility-check', consent_id: 42 }]],
    ['without consent_id', () => [{ type: 'eligibility-check' }]],
  ]) {
    it(`PAR with authorization_details ${title} is invalid_authorization_details`, async () => {
      const consentId = await createConsent(gateway(), peer.as, keyed());
      await rejectsWith(push(peer.as, keyed(), await parWith({ authorization_details: JSON.stringify(details(consentId)) })),
        { status: 400, error: 'invalid_authorization_details' });
    });
  }

  it('an unsigned (alg none) client assertion is invalid_client', async () => {
    const now = Math.floor(Date.now() / 1000);
    const assertion = new jose.UnsecuredJWT({ jti: randomUUID() })
      .setIssuer(keyedCouncil.clientId).setSubject(keyedCouncil.clientId).setAudience(peer.as.issuer)
      .setIssuedAt(now).setExpirationTime(now + 60).encode();
    const response = await fetch(peer.as.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        scope: 'consents.manage',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      }),
    });
    assert.equal(response.status, 401);
    assert.equal((await response.json()).error, 'invalid_client');
  });

  describe('access tokens the check API refuses (401 invalid_token)', () => {
    /** A consent-bound token's claims, as the gateway issues them, for forging variants of. */
    let genuine;
    before(async () => {
      const { tokens } = await tokensFor();
      genuine = { header: jose.decodeProtectedHeader(tokens.access_token), claims: jose.decodeJwt(tokens.access_token) };
    });

    async function assertRefused(token) {
      const check = await checkWithRawToken(gateway(), token);
      assert.equal(check.status, 401, check.body);
      assert.match(check.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
      assert.equal(JSON.parse(check.body).type, 'urn:eligibility-gateway:problem:invalid-token');
    }

    it('an expired token, though signed with the gateway\'s own key', async () => {
      const { key, kid } = await gatewaySigningKey(world.sandbox.dataDirectory);
      const now = Math.floor(Date.now() / 1000);
      const expired = await new jose.SignJWT({ ...genuine.claims, iat: now - 600, nbf: now - 600, exp: now - 120 })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid }).sign(key);
      await assertRefused(expired);
    });

    it('a token forged with another key under the gateway\'s kid', async () => {
      const { privateKey } = await jose.generateKeyPair('ES256');
      await assertRefused(await new jose.SignJWT(genuine.claims).setProtectedHeader(genuine.header).sign(privateKey));
    });

    it('an unsigned token (alg none)', async () => {
      const header = jose.base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: genuine.header.kid }));
      const payload = jose.base64url.encode(JSON.stringify(genuine.claims));
      await assertRefused(`${header}.${payload}.`);
    });

    it('an HS256 token keyed with the published public key (algorithm confusion)', async () => {
      const jwks = await (await fetch(peer.as.jwks_uri)).json();
      const secret = new TextEncoder().encode(JSON.stringify(jwks.keys.find((k) => k.kid === genuine.header.kid)));
      await assertRefused(await new jose.SignJWT(genuine.claims).setProtectedHeader({ ...genuine.header, alg: 'HS256' }).sign(secret));
    });

    it('a token for another audience, though signed with the gateway\'s own key', async () => {
      const { key, kid } = await gatewaySigningKey(world.sandbox.dataDirectory);
      await assertRefused(await new jose.SignJWT({ ...genuine.claims, aud: 'another-api' }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid }).sign(key));
    });
  });

  it('a check under a revoked consent is 409 consent-not-usable, and its tokens go inactive', async () => {
    const { tokens, consentId } = await tokensFor();
    const revoked = await consentRequest(gateway(), peer.as, keyed(), consentId, 'DELETE');
    assert.equal(revoked.body.status, 'revoked');

    const check = await checkUnderConsent(gateway(), tokens.access_token);
    assert.equal(check.status, 409, JSON.stringify(check.body));
    assert.equal(check.body.type, 'urn:eligibility-gateway:problem:consent-not-usable');
    assert.equal(check.body.consentStatus, 'revoked');
    assert.equal((await introspect(peer.as, keyed(), tokens.access_token)).active, false);
    await rejectsWith(refresh(peer.as, keyed(), tokens.refresh_token), { status: 400, error: 'invalid_grant' });
  });

  it('a consent-bound check naming a subject in the body is 400 on subject', async () => {
    const { tokens } = await tokensFor();
    const check = await checkUnderConsent(gateway(), tokens.access_token, {
      scheme: 'free-school-meals',
      caseReference: 'FSM-INTEROP-1',
      subject: { nationalInsuranceNumber: 'CE234567A', lastName: 'Jones', dateOfBirth: '1985-05-15' },
    });
    assert.equal(check.status, 400);
    assert.ok(check.body.errors.subject, JSON.stringify(check.body));
  });

  it('introspection by another council says only active false', async () => {
    const { tokens } = await tokensFor();
    assert.deepEqual(await introspect(peer.as, leeds(), tokens.access_token), { active: false });
  });

  it('client_secret_basic with a wrong secret is invalid_client', async () => {
    const wrong = { client: leeds().client, auth: oauth.ClientSecretBasic('not-the-secret') };
    await rejectsWith(clientCredentials(peer.as, wrong, 'eligibility.check'), { status: 401, error: 'invalid_client' });
  });
});

describe('reference: oidc-provider', () => {
  before(() => referencePeer.setUp());
  describeDiscovery(referencePeer);
  describeCodeFlow(referencePeer, 'private_key_jwt');
  describeCodeFlow(referencePeer, 'client_secret_basic');
  // oidc-provider's userinfo takes only access tokens for itself, and these are for eligibility-gateway.
  describeOpenIdConnect(referencePeer);
});
