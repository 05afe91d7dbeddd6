// A citizen's browser over plain HTTP: cookies kept per path, redirects followed by hand (so each hop can be
// asserted), and the forms of a page read from its HTML. Enough to sign in and press Allow without a real browser;
// the gateway's own Playwright tests cover what a real browser adds.

import assert from 'node:assert/strict';

export class Browser {
  /** @type {Map<string, {name: string, value: string, path: string}>} */
  #cookies = new Map();

  /** GET without following redirects. */
  get(url) {
    return this.#send(url, { method: 'GET' });
  }

  /** POST a urlencoded form without following redirects. */
  post(url, fields) {
    return this.#send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /**
   * Follows redirects from `url` (GET) until a response that is not a redirect, or until `stop(url)` says the next
   * location is not to be fetched (the council's redirect URI: nothing listens there). Returns the last response and
   * the URL it came from, or the location where it stopped.
   */
  async follow(url, { stop = () => false, first } = {}) {
    let response = first ?? (await this.get(url));
    let current = new URL(url);
    for (let hops = 0; hops < 10; hops++) {
      if (response.status < 300 || response.status > 399) {
        return { response, url: current };
      }
      const location = new URL(response.headers.get('location'), current);
      if (stop(location)) {
        return { response, url: current, stoppedAt: location };
      }
      current = location;
      response = await this.get(current);
    }
    assert.fail(`more than 10 redirects from ${url}`);
  }

  async #send(url, init) {
    const target = new URL(url);
    const cookie = [...this.#cookies.values()]
      .filter((c) => target.pathname === c.path || target.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    const headers = new Headers(init.headers);
    if (cookie) {
      headers.set('cookie', cookie);
    }
    const response = await fetch(target, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      this.#store(line, target);
    }
    return response;
  }

  #store(line, target) {
    const [pair, ...attributes] = line.split(';').map((part) => part.trim());
    const equals = pair.indexOf('=');
    const name = pair.slice(0, equals);
    const value = pair.slice(equals + 1);
    let path = target.pathname.replace(/\/[^/]*$/, '') || '/';
    let expired = value === '';
    for (const attribute of attributes) {
      const [key, ...rest] = attribute.split('=');
      const attributeValue = rest.join('=');
      switch (key.toLowerCase()) {
        case 'path':
          path = attributeValue || '/';
          break;
        case 'max-age':
          expired ||= Number(attributeValue) <= 0;
          break;
        case 'expires':
          expired ||= Date.parse(attributeValue) <= Date.now();
          break;
        default:
          break;
      }
    }
    const key = `${name}\n${path}`;
    if (expired) {
      this.#cookies.delete(key);
    } else {
      this.#cookies.set(key, { name, value, path });
    }
  }
}

/** The forms of an HTML page: `{action, method, fields}` with every named input's value (hidden ones included). */
export function forms(html, pageUrl) {
  const found = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attributes = attributesOf(match[1]);
    const fields = {};
    for (const input of match[2].matchAll(/<input\b([^>]*)>/gi)) {
      const inputAttributes = attributesOf(input[1]);
      if (inputAttributes.name !== undefined) {
        fields[inputAttributes.name] = inputAttributes.value ?? '';
      }
    }
    const buttons = [];
    for (const button of match[2].matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)) {
      buttons.push({ ...attributesOf(button[1]), text: decode(button[2].trim()) });
    }
    found.push({
      action: new URL(attributes.action || pageUrl, pageUrl),
      method: (attributes.method ?? 'get').toLowerCase(),
      fields,
      buttons,
    });
  }
  return found;
}

function attributesOf(text) {
  const attributes = {};
  for (const match of text.matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    attributes[match[1].toLowerCase()] = decode(match[2] ?? match[3] ?? match[4] ?? '');
  }
  return attributes;
}

/** HTML character references, as Razor and oidc-provider's views write them. */
export function decode(text) {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#([0-9]+);/g, (_, dec) => String.fromCodePoint(Number(dec)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
