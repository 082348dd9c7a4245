/**
 * Benchmarks: what the broker adds on top of Keycloak, measured against the real
 * Keycloak (and Redis for the store figures). Reports requests per second and latency
 * percentiles for each case, and the broker/direct ratio where there is a direct twin.
 *
 *   npm run bench                       (Keycloak must be running: npm run keycloak)
 *   BENCH_SECONDS=5 BENCH_CONCURRENCY=16 npm run bench
 *
 * Bounded: each case runs BENCH_SECONDS (default 3) at BENCH_CONCURRENCY (default 8)
 * against 127.0.0.1 only, then stops.
 */
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/http/logger.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { RedisStore } from '../src/store/redis-store.js';
import type { Store } from '../src/store/store.js';
import { wire } from '../src/wire.js';

const KEYCLOAK = process.env.KEYCLOAK_URL ?? 'http://127.0.0.1:8080';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const form = (o: Record<string, string>) => ({
  method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(o).toString(),
});

interface Result { name: string; rps: number; p50: number; p99: number; errors: number }

async function run(name: string, once: () => Promise<boolean>): Promise<Result> {
  for (let i = 0; i < 20; i++) await once(); // warm caches and connections
  const lat: number[] = [];
  let errors = 0;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const ok = await once().catch(() => false);
      lat.push(performance.now() - t0);
      if (!ok) errors++;
    }
  }));
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))]!;
  return { name, rps: lat.length / SECONDS, p50: q(0.5), p99: q(0.99), errors };
}

async function storeOps(store: Store): Promise<() => Promise<boolean>> {
  let i = 0;
  return async () => {
    const k = `bench:${i++ % 1000}`;
    await store.put(k, { a: 1 }, 60);
    return (await store.take(k)) !== undefined || true;
  };
}

async function main() {
  const config = loadConfig({ KEYCLOAK_URL: KEYCLOAK, CONFIG_FILE: 'demo.config.json', PORT: '0', LOG_LEVEL: 'silent' });
  let app: Koa | undefined;
  const deps = await wire(config, createLogger('silent'), new MemoryStore());
  app = buildApp(deps);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const broker = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const direct = `${KEYCLOAK}/realms/acme/protocol/openid-connect`;
  const cc = { client_id: 'connect-demo', client_secret: 'connect-demo-secret' };
  const login = await (await fetch(`${broker}/auth/api/v1/oauth/connect/user/login`, form({ username: 'alice@acme.example', password: 'alice-pass', scopes: 'openid' }))).json() as { access_token: string };
  const at = login.access_token;

  const results: Result[] = [];
  results.push(await run('keycloak  client_credentials (direct)', async () =>
    (await fetch(`${direct}/token`, form({ ...cc, grant_type: 'client_credentials' }))).ok));
  results.push(await run('broker    connect/token (client_credentials)', async () =>
    (await fetch(`${broker}/auth/api/v1/oauth/connect/token`, form(cc))).ok));
  results.push(await run('broker    platform token (client_credentials)', async () =>
    (await fetch(`${broker}/api/v1/platform/oauth/token`, form({ grant_type: 'client_credentials', client_id: 'platform-service', client_secret: 'platform-service-secret' }))).ok));
  results.push(await run('keycloak  introspect (direct)', async () =>
    (await fetch(`${direct}/token/introspect`, form({ client_id: 'realm-broker', client_secret: 'realm-broker-secret', token: at }))).ok));
  results.push(await run('broker    connect/introspect', async () =>
    (await fetch(`${broker}/auth/api/v1/oauth/connect/introspect`, form({ token: at }))).ok));
  results.push(await run('keycloak  userinfo (direct, remote check)', async () =>
    (await fetch(`${direct}/userinfo`, { headers: { authorization: `Bearer ${at}` } })).ok));
  results.push(await run('broker    /v1/auth/register (local JWT check)', async () =>
    (await fetch(`${broker}/v1/auth/register`, { method: 'POST', headers: { authorization: `Bearer ${at}` } })).ok));
  results.push(await run('broker    /v1/auth/config (cached metadata)', async () =>
    (await fetch(`${broker}/v1/auth/config`)).ok));
  results.push(await run('broker    platform JWKS (aggregated, cached)', async () =>
    (await fetch(`${broker}/api/v1/platform/.well-known/jwks.json`)).ok));
  results.push(await run('broker    platform discovery', async () =>
    (await fetch(`${broker}/api/v1/platform/oauth/.well-known/openid-configuration`)).ok));
  results.push(await run('broker    validation error (422, no upstream)', async () =>
    (await fetch(`${broker}/auth/api/v1/oauth/connect/token`, form({}))).status === 422));
  results.push(await run('store     memory put+take', await storeOps(new MemoryStore())));
  const redis = new RedisStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix: 'rb-bench:', timeoutMs: 1000 });
  await redis.connect();
  results.push(await run('store     redis put+take', await storeOps(redis)));
  await redis.close();

  console.log(`\nrealm-broker benchmark: ${SECONDS} s per case, concurrency ${CONCURRENCY}, node ${process.version}\n`);
  console.log(`${'case'.padEnd(48)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(7)}`);
  for (const r of results) {
    console.log(`${r.name.padEnd(48)} ${r.rps.toFixed(0).padStart(9)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)} ${String(r.errors).padStart(7)}`);
  }
  const ratio = (a: number, b: number) => (results[a]!.rps / results[b]!.rps).toFixed(2);
  console.log(`\nratios (req/s, broker / direct Keycloak):`);
  console.log(`  client_credentials through the broker: ${ratio(1, 0)}`);
  console.log(`  platform client_credentials:          ${ratio(2, 0)}`);
  console.log(`  introspection through the broker:      ${ratio(4, 3)}`);
  console.log(`  local JWT check (register) vs Keycloak userinfo: ${ratio(6, 5)}`);
  server.closeAllConnections();
  server.close();
  process.exit(0);
}

main().catch((err) => { console.error(err); process.exit(1); });
