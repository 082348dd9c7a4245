/**
 * Builds and starts a broker for one test file, with the same wiring as main.ts, on an
 * ephemeral port against the real Keycloak. Config overrides per feature, as
 * node-oidc-provider's tests do.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import * as jose from 'jose';
import type Koa from 'koa';
import { buildListener } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { Deps } from '../../src/deps.js';
import { createLogger, type Level } from '../../src/http/logger.js';
import { createBrokerServer } from '../../src/http/server.js';
import type { Store } from '../../src/store/store.js';
import { wire } from '../../src/wire.js';
import { KEYCLOAK2_URL, KEYCLOAK_URL } from './services.js';

export const ACME_ID = '19340612-d99f-40e7-8f15-76f059339aba';
export const GLOBEX_ID = 'a1f870e0-c3da-48ee-815c-a1c8352270a0';
export const INITECH_ID = '7d5a4a0e-3f62-4c1b-9e8f-2b6c5d1e0f47';

/** Platform settings for device-flow tests: a 1 s polling interval keeps them quick. */
export const deviceOverrides = (extra: Record<string, number> = {}) => ({
  platform: { homeTenant: 'acme', idTokenTtlSeconds: 300, deviceCodeTtlSeconds: 600, deviceIntervalSeconds: 1, userCodeAttempts: 5, discoveryAttempts: 1000, ...extra },
});

export interface TestBroker {
  url: string;
  deps: Deps;
  app: Koa;
  logs: string[];
  /** The client connections the broker's server holds now. */
  connections(): Promise<number>;
  close(): Promise<void>;
}

export async function startBroker(options: { env?: Record<string, string>; overrides?: Record<string, unknown>; store?: Store } = {}): Promise<TestBroker> {
  const config = loadConfig({
    KEYCLOAK_URL,
    KEYCLOAK2_URL,
    CONFIG_FILE: 'demo.config.json',
    PORT: '0',
    UPSTREAM_TIMEOUT_MS: '3000',
    ...options.env,
  }, options.overrides);
  const logs: string[] = [];
  const log = createLogger((process.env.TEST_LOG_LEVEL as Level) ?? 'debug', {
    write: (line) => {
      logs.push(line);
      if (process.env.TEST_LOG) process.stdout.write(line + '\n');
    },
  });
  const deps = await wire(config, log, options.store);
  const { app, listener } = buildListener(deps);
  const server: Server = createBrokerServer(listener, config).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  deps.config.publicUrl = url;
  return {
    url,
    deps,
    app,
    logs,
    connections: () => new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n)))),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      if (!options.store) await deps.store.close();
    },
  };
}

/** POST a form (or JSON when `json` is set) and return status, headers and parsed body. */
export async function post(url: string, fields: Record<string, string | number | undefined>, opts: { json?: boolean; query?: boolean; headers?: Record<string, string> } = {}) {
  const clean = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Record<string, string>;
  let target = url;
  let body: string | undefined;
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.query) {
    target = `${url}?${new URLSearchParams(clean)}`;
  } else if (opts.json) {
    body = JSON.stringify(fields);
    headers['content-type'] = 'application/json';
  } else {
    body = new URLSearchParams(clean).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const res = await fetch(target, { method: 'POST', body, headers });
  const text = await res.text();
  let json: any;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, body: json, text };
}

/** Decode a JWT's payload without verifying (tests only read claims). */
export function claims(jwt: string): Record<string, any> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'));
}

/** GET with a given Host header (fetch does not let a caller set Host). */
export async function getWithHost(url: string, host: string): Promise<{ status: number; body: any }> {
  return withHost('GET', url, host);
}

/** A request with a given Host header, and a form body when `form` is given; status, headers, parsed body. */
export async function withHost(method: string, url: string, host: string, form?: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Record<string, string | string[] | undefined> }> {
  const { request } = await import('node:http');
  const body = form ? new URLSearchParams(form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...headers, host, ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * How a resource server verifies a realm access token with the documented platform JWKS
 * (README "Verifying tokens"): the key must be one that carries the token's own issuer.
 */
export function realmKeyOf(brokerUrl: string): jose.JWTVerifyGetKey {
  return async (header, token) => {
    const { keys } = (await (await fetch(`${brokerUrl}/api/v1/platform/.well-known/jwks.json`)).json()) as { keys: (jose.JWK & { iss?: string })[] };
    const encoded = typeof token.payload === 'string' ? token.payload : new TextDecoder().decode(token.payload);
    const iss = (JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as { iss?: string }).iss;
    const jwk = keys.find((k) => k.kid === header.kid && k.iss === iss);
    if (!jwk) throw new Error(`no key ${header.kid} of issuer ${iss}`);
    return jose.importJWK(jwk, header.alg);
  };
}
