// An OpenID Connect provider for the gateway's federated sign-in tests: oidc-provider (OpenID-certified) plays the
// citizens' identity provider. It listens on a free loopback port, prints {"port": N}, then reads one line of JSON from
// stdin with the clients to register ({"clients": [...]}, the gateway's redirect URI being known only once the gateway
// listens), starts the provider with issuer http://127.0.0.1:N and prints {"ready": true}. It exits when stdin closes.
//
// Accounts: the login name is the account id. "smith" and "khan" carry the identity of the sandbox fixtures; "no-identity"
// has a surname and birth date but no identifier. "smith~<fault>" signs in as Smith, and then the ID token in the token
// response is altered to show the gateway a faulty one: wrong-nonce, wrong-issuer, wrong-audience, bad-signature
// (signed by another key under the provider's kid), expired, alg-none, no-signature (RS256 with the signature cut off),
// extra-audience (a second audience and no azp), future-iat.
//
// GET /test/last-authorization-request answers the parameters of the last authorization request the provider took,
// pushed (PAR) or not, so that a test can see what the gateway asked for.

import http from 'node:http';
import readline from 'node:readline';
import * as jose from 'jose';
import Provider from 'oidc-provider';

const people = {
  smith: { family_name: 'Smith', birthdate: '1990-01-01', national_insurance_number: 'AB 12 34 56 C' },
  khan: { family_name: 'Khan', birthdate: '1990-01-01', nass_number: '240712349' },
  'no-identity': { family_name: 'Smith', birthdate: '1990-01-01' },
};

const identityClaims = ['family_name', 'birthdate', 'national_insurance_number', 'nass_number'];

const { privateKey: signingKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await jose.exportJWK(signingKey)), kid: 'provider-signing-1', alg: 'RS256', use: 'sig' };
const { privateKey: forgeryKey } = await jose.generateKeyPair('RS256');

let provider;
let lastAuthorizationRequest = null;

const server = http.createServer((req, res) => {
  if (!provider) {
    res.writeHead(503).end();
    return;
  }
  interactions(req, res).then((handled) => {
    if (!handled) {
      provider.callback()(req, res);
    }
  }).catch((error) => {
    process.stderr.write(`interaction failed: ${error?.stack ?? error}\n`);
    if (!res.headersSent) {
      res.writeHead(500).end();
    }
  });
});

await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;
process.stdout.write(`${JSON.stringify({ port })}\n`);

const input = readline.createInterface({ input: process.stdin });
input.once('line', (line) => {
  const { clients } = JSON.parse(line);
  provider = new Provider(issuer, configuration(clients));
  provider.use(faultyIdTokens);
  provider.on('server_error', (_ctx, error) => process.stderr.write(`server_error: ${error?.stack ?? error}\n`));
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
});
input.once('close', () => {
  server.close();
  process.exit(0);
});

function configuration(clients) {
  return {
    clients,
    jwks: { keys: [signingJwk] },
    scopes: ['openid', 'identity'],
    claims: { openid: ['sub'], identity: identityClaims },
    // The identity goes in the ID token itself, which is what the gateway reads.
    conformIdTokenClaims: false,
    findAccount: async (_ctx, id) => {
      const person = people[id.split('~')[0]];
      return person && { accountId: id, claims: async () => ({ sub: id, ...person }) };
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    cookies: { keys: ['identity-provider-test-cookie-key'] },
  };
}

// The provider's own pages: a login form (and a Cancel button), and consent granted without asking.
async function interactions(req, res) {
  if (req.method === 'GET' && new URL(req.url, issuer).pathname === '/test/last-authorization-request') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(lastAuthorizationRequest));
    return true;
  }

  const match = /^\/interaction\/([^/?]+)(\/login|\/abort)?$/.exec(new URL(req.url, issuer).pathname);
  if (!match) {
    return false;
  }

  const [, uid, action] = match;
  if (req.method === 'GET' && !action) {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'login') {
      lastAuthorizationRequest = details.params;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html>
<title>Sign in</title>
<form method="post" action="/interaction/${uid}/login"><label for="login">Login</label><input id="login" name="login"><button type="submit">Sign in</button></form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit">Cancel</button></form>`);
      return true;
    }

    const { prompt: { details: missing }, params, session: { accountId } } = details;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId, clientId: params.client_id });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return true;
  }

  if (req.method === 'POST' && action === '/login') {
    const login = new URLSearchParams(await body(req)).get('login') ?? '';
    const result = people[login.split('~')[0]]
      ? { login: { accountId: login } }
      : { error: 'access_denied', error_description: 'unknown login' };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    return true;
  }

  if (req.method === 'POST' && action === '/abort') {
    await body(req);
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false });
    return true;
  }

  return false;
}

async function body(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

// Alters the ID token in a token response when the account asks for a fault.
async function faultyIdTokens(ctx, next) {
  await next();
  const idToken = ctx.path === '/token' && ctx.status === 200 ? ctx.body?.id_token : undefined;
  if (typeof idToken !== 'string') {
    return;
  }

  const payload = jose.decodeJwt(idToken);
  const fault = String(payload.sub ?? '').split('~')[1];
  if (!fault) {
    return;
  }

  const now = Math.floor(Date.now() / 1000);
  const resign = (claims, key = signingKey) => new jose.SignJWT({ ...payload, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: signingJwk.kid })
    .sign(key);
  const faults = {
    'wrong-nonce': () => resign({ nonce: 'not-the-nonce-that-was-sent' }),
    'wrong-issuer': () => resign({ iss: 'http://127.0.0.1:9/another-provider' }),
    'wrong-audience': () => resign({ aud: 'another-client' }),
    'bad-signature': () => resign({}, forgeryKey),
    expired: () => resign({ iat: now - 7200, exp: now - 3600 }),
    'no-signature': async () => `${(await resign({})).split('.').slice(0, 2).join('.')}.`,
    'extra-audience': () => resign({ aud: [payload.aud, 'another-client'], azp: undefined }),
    'future-iat': () => resign({ iat: now + 3600 }),
    'alg-none': async () => `${jose.base64url.encode(JSON.stringify({ alg: 'none' }))}.${jose.base64url.encode(JSON.stringify(payload))}.`,
  };
  if (!faults[fault]) {
    throw new Error(`unknown fault ${fault}`);
  }

  ctx.body = { ...ctx.body, id_token: await faults[fault]() };
}
