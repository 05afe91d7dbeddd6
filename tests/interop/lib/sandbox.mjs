// Starts the built sandbox (gateway + mock central government) as a child process on free ports, with its own data
// directory and a copy of trust-frameworks/sandbox.yaml to which a private_key_jwt council is added whose key pair
// the suite generates. Stops it again.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';

export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The sandbox assembly of the Release build (./scripts/test.sh builds it first). */
export const sandboxDll = process.env.EGW_SANDBOX_DLL
  ?? path.join(repositoryRoot, 'src/EligibilityGateway.Sandbox/bin/Release/net10.0/EligibilityGateway.Sandbox.dll');

/** The council the suite adds, authenticating with private_key_jwt only. */
export const keyedCouncil = {
  id: 'interop',
  clientId: 'interop-council',
  name: 'Interop Borough Council',
  kid: 'interop-2026',
  redirectUri: 'http://127.0.0.1/interop/callback',
};

/**
 * Writes the framework copy into `directory`: sandbox.yaml as it is, plus a council using private_key_jwt with the
 * given public JWK, permitted free-school-meals under consent. Returns the file's path and Leeds' first redirect URI.
 */
export async function writeFramework(directory, publicJwk) {
  const original = await readFile(path.join(repositoryRoot, 'trust-frameworks/sandbox.yaml'), 'utf8');
  const council = `
  - id: ${keyedCouncil.id}
    name: ${keyedCouncil.name}
    client_id: ${keyedCouncil.clientId}
    client_authentication:
      method: private_key_jwt
      jwks:
        keys:
          - kty: EC
            crv: P-256
            kid: ${keyedCouncil.kid}
            use: sig
            alg: ES256
            x: ${publicJwk.x}
            y: ${publicJwk.y}
    rate_limit: { limit: 6000, window: PT1M }
    redirect_uris:
      - ${keyedCouncil.redirectUri}
`;
  const permission = `
  - council: ${keyedCouncil.id}
    scheme: free-school-meals
    lawful_bases:
      - basis: consent
    purpose: dpv:ServiceProvision
`;
  const text = insertAfter(insertAfter(original, /^councils:[^\n]*\n/m, council), /^permissions:[^\n]*\n/m, permission);
  const file = path.join(directory, 'sandbox-with-interop-council.yaml');
  await writeFile(file, text);

  // Leeds (client_secret_basic) keeps the redirect URIs sandbox.yaml gives it; the flow uses the first.
  const leeds = original.match(/^ {2}- id: leeds\n[\s\S]*?^ {4}redirect_uris:\n {6}- (\S+)/m);
  if (!leeds) {
    throw new Error('trust-frameworks/sandbox.yaml no longer gives the council leeds a redirect URI');
  }
  return { file, leedsRedirectUri: leeds[1] };
}

function insertAfter(text, anchor, insertion) {
  const match = anchor.exec(text);
  if (!match) {
    throw new Error(`trust-frameworks/sandbox.yaml has no line matching ${anchor}`);
  }
  const at = match.index + match[0].length;
  return text.slice(0, at) + insertion.replace(/^\n/, '') + text.slice(at);
}

/** An EC P-256 key pair for the keyed council: the private CryptoKey and the public JWK. */
export async function councilKeyPair() {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
  return { privateKey, publicJwk: await jose.exportJWK(publicKey) };
}

/**
 * Starts one sandbox. `settings` become environment variables (`Section__Key`), which the gateway reads as
 * configuration. Resolves once the gateway answers /health/ready, with its address and a `stop()`.
 */
export async function startSandbox({ framework, settings = {}, label = 'sandbox' }) {
  if (!existsSync(sandboxDll)) {
    throw new Error(`${sandboxDll} is missing: build the solution in Release first (./scripts/test.sh does)`);
  }
  const dataDirectory = await mkdtemp(path.join(tmpdir(), `egw-interop-${label}-`));
  const environment = { ...process.env, DOTNET_NOLOGO: '1', DOTNET_CLI_TELEMETRY_OPTOUT: '1' };
  for (const [key, value] of Object.entries(settings)) {
    environment[key.replaceAll(':', '__')] = value;
  }
  const child = spawn('dotnet', [
    sandboxDll,
    '--gateway-url', 'http://127.0.0.1:0',
    '--mock-url', 'http://127.0.0.1:0',
    '--data-dir', dataDirectory,
    '--trust-framework', framework,
  ], { cwd: dataDirectory, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });

  // Never outlive the suite, even when it is killed mid-run.
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  let output = '';
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  // The walkthrough prints "Gateway  <url>" once both listen (a .NET test holds the sandbox to that line).
  const address = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} printed no gateway address within 60 s:\n${output}`)), 60_000);
    const onData = (chunk) => {
      output += chunk;
      const match = output.match(/^\s*Gateway\s+(http:\/\/\S+)/m);
      if (match) {
        clearTimeout(timer);
        resolve(new URL(match[1]));
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', (chunk) => { output += chunk; });
    exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited with ${code} before it was ready:\n${output}`));
    });
  });
  const gateway = address.origin;
  const ready = await fetch(`${gateway}/health/ready`);
  if (ready.status !== 200) {
    throw new Error(`${label}: /health/ready answered ${ready.status}`);
  }
  return {
    gateway,
    dataDirectory,
    log: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      process.off('exit', orphanGuard);
      await rm(dataDirectory, { recursive: true, force: true });
    },
  };
}

/** A private token-signing key of a running sandbox (it generates them into its data directory). */
export async function gatewaySigningKey(dataDirectory) {
  const jwk = JSON.parse(await readFile(path.join(dataDirectory, 'keys', 'token-signing-1.json'), 'utf8'));
  return { key: await jose.importJWK({ ...jwk, alg: 'ES256' }, 'ES256'), kid: jwk.kid };
}
