// What a council and a citizen do at the gateway besides OAuth: create a consent, sign in and press
// Allow or Deny on the consent page, and ask for a check under the consent (src/EligibilityGateway/Consents/README.md).

import assert from 'node:assert/strict';
import { Browser, forms } from './browser.mjs';
import { clientCredentials, oauth, insecure } from './oauth.mjs';

export const CITIZEN = { username: 'smith', password: 'sandbox' };

/** POST /v1/consents as the council, with a client-credentials token of scope consents.manage. */
export async function createConsent(gateway, as, council, { scheme = 'free-school-meals', caseReference = 'FSM-INTEROP-1' } = {}) {
  const { access_token: token } = await clientCredentials(as, council, 'consents.manage');
  const response = await fetch(`${gateway}/v1/consents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ scheme, caseReference }),
  });
  const body = await response.json();
  assert.equal(response.status, 201, JSON.stringify(body));
  assert.equal(body.status, 'awaiting-authorisation');
  return body.consentId;
}

/** GET or DELETE /v1/consents/{id} as the council: `{status, body}`. */
export async function consentRequest(gateway, as, council, consentId, method = 'GET') {
  const { access_token: token } = await clientCredentials(as, council, 'consents.manage');
  const response = await fetch(`${gateway}/v1/consents/${encodeURIComponent(consentId)}`, {
    method,
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: await response.json() };
}

/** A browser signed in as the citizen: /sign-in with its antiforgery token and cookie, username and password. */
export async function signIn(gateway, browser = new Browser(), returnUrl = '/account') {
  const page = new URL(`/sign-in?returnUrl=${encodeURIComponent(returnUrl)}`, gateway);
  const response = await browser.get(page);
  assert.equal(response.status, 200, 'the sign-in page');
  const form = forms(await response.text(), page).find((f) => f.action.pathname === '/sign-in');
  assert.ok(form?.fields.__RequestVerificationToken, 'the sign-in form carries an antiforgery token');
  const signedIn = await browser.post(form.action, { ...form.fields, username: CITIZEN.username, password: CITIZEN.password });
  assert.equal(signedIn.status, 302, 'a correct username and password redirect');
  assert.equal(new URL(signedIn.headers.get('location'), gateway).href, new URL(returnUrl, gateway).href);
  return browser;
}

/**
 * The citizen's side of /connect/authorize over HTTP: not signed in → the sign-in page → POST username and
 * password with the antiforgery token and cookie → back to the consent page → POST Allow (or Deny) with the page's
 * antiforgery token → 303 to /connect/authorize/continue → 302 to the council's redirect URI. Returns that URI.
 */
export async function authorizeInBrowser(gateway, url, decision = 'allow', browser = new Browser()) {
  const first = await browser.get(url);
  assert.equal(first.status, 302, 'a citizen who is not signed in is sent to sign in');
  const signInUrl = new URL(first.headers.get('location'), url);
  assert.equal(signInUrl.pathname, '/sign-in');
  const returnUrl = signInUrl.searchParams.get('returnUrl');
  assert.equal(new URL(returnUrl, gateway).href, url.href, 'sign-in returns to the authorization request');
  await signIn(gateway, browser, returnUrl);
  return decide(gateway, browser, url, decision);
}

/** On the consent page of a signed-in browser: press a button and follow the 303 and the 302. */
export async function decide(gateway, browser, url, decision) {
  const page = await browser.get(url);
  const html = await page.text();
  assert.equal(page.status, 200, 'the consent page');
  assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  const form = forms(html, url).find((f) => f.buttons.some((b) => b.name === 'decision' && b.value === decision));
  assert.ok(form, `the consent page has a ${decision} button`);
  assert.ok(form.fields.__RequestVerificationToken, 'the consent form carries an antiforgery token');
  const posted = await browser.post(form.action, { ...form.fields, decision });
  assert.equal(posted.status, 303, 'the decision answers 303 to the continuation');
  const continuation = new URL(posted.headers.get('location'), url);
  assert.equal(continuation.pathname, '/connect/authorize/continue');
  const redirected = await browser.get(continuation);
  assert.equal(redirected.status, 302, 'the continuation redirects to the council');
  return new URL(redirected.headers.get('location'));
}

/** POST /v1/checks under a consent-bound token: the subject comes from the consent. */
export async function checkUnderConsent(gateway, accessToken, body = { scheme: 'free-school-meals', caseReference: 'FSM-INTEROP-1' }) {
  const response = await oauth.protectedResourceRequest(accessToken, 'POST', new URL('/v1/checks', gateway),
    new Headers({ 'content-type': 'application/json' }), JSON.stringify(body), insecure);
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/** POST /v1/checks with a raw Authorization header, for tokens oauth4webapi would never send. */
export async function checkWithRawToken(gateway, token) {
  const response = await fetch(`${gateway}/v1/checks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ scheme: 'free-school-meals', caseReference: 'FSM-INTEROP-1' }),
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}
