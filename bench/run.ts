/**
 * `npm run bench`: what the broker costs, measured side by side with its reference in one
 * run, on the compiled broker (dist/, production logging), in its own process:
 * - proxied grants against the same request sent straight to Keycloak;
 * - the broker's local answers against a bare node:http server sending the same bytes.
 * Broker and reference alternate (A B A B …) for BENCH_ROUNDS rounds of BENCH_SECONDS, with
 * autocannon at BENCH_CONNECTIONS connections, loopback only. Printed as a table and written
 * to bench/last-run.json: throughput ratio, added p50/p99 latency, and the broker's CPU
 * microseconds per request (from /proc/<pid>/stat over the broker's runs: the figure that
 * survives a noisy machine).
 *
 *   npm run bench        (Keycloak must be running: npm run keycloak)
 *   BENCH_ONLY=refresh npm run bench   (the cases whose name matches)
 */
import autocannon from 'autocannon';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const KEYCLOAK = process.env.KEYCLOAK_URL ?? 'http://127.0.0.1:8080';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

interface Req { url: string; method?: 'GET' | 'POST'; form?: Record<string, string>; headers?: Record<string, string> }
interface Case { name: string; reference: 'keycloak' | 'bare'; ref: Req; broker: Req }
interface Side { rps: number; p50: number; p99: number; requests: number; non2xx: number; cpuUs?: number }

/** Waits for a child's first stdout line matching `test`, keeps draining the rest. */
function firstLine(child: ChildProcess, test: (line: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.once('exit', (code) => reject(new Error(`exited ${code} before it was ready`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split('\n')) if (test(line)) resolve(line);
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
    });
  });
}

/** User + system CPU of a process, in microseconds. */
function cpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / TICKS) * 1e6;
}

async function load(req: Req): Promise<Side & { raw: autocannon.Result }> {
  const body = req.form ? new URLSearchParams(req.form).toString() : undefined;
  const raw = await autocannon({
    url: req.url, method: req.method ?? (body ? 'POST' : 'GET'), duration: SECONDS, connections: CONNECTIONS,
    headers: { ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...req.headers }, body,
  });
  return { raw, rps: raw.requests.average, p50: raw.latency.p50, p99: raw.latency.p99, requests: raw.requests.total, non2xx: raw.non2xx + raw.errors };
}

async function main(): Promise<void> {
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  const config = join(tmpdir(), `rb-bench-${process.pid}.json`);
  const demo = JSON.parse(readFileSync('demo.config.json', 'utf8'));
  // Limits out of the way (one client address makes every request), and the token cache on for
  // platform-service only, so that connect-demo shows the proxied grant.
  writeFileSync(config, JSON.stringify({
    ...demo,
    scaiwave: { ...demo.scaiwave, rateLimit: { perUser: 1_000_000, perAddress: 1_000_000, windowSeconds: 60 } },
    tokenCache: { clients: ['platform-service'], safetyMarginSeconds: 30, maxAgeSeconds: 60 },
  }));
  const broker = spawn(process.execPath, ['dist/main.js'], {
    env: { ...process.env, CONFIG_FILE: config, PORT: '0', MANAGEMENT_PORT: '-1', KEYCLOAK_URL: KEYCLOAK, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const base = `http://127.0.0.1:${JSON.parse(await firstLine(broker, (l) => l.includes('realm-broker listening'))).port}`;

  const post = async (url: string, form: Record<string, string>) => (await fetch(url, { method: 'POST', body: new URLSearchParams(form) })).json() as Promise<Record<string, string>>;
  const direct = `${KEYCLOAK}/realms/acme/protocol/openid-connect`;
  const alice = await post(`${base}/auth/api/v1/oauth/connect/user/login`, { username: 'alice@acme.example', password: 'alice-pass', scopes: 'openid' });

  // The bare reference serves exactly the bytes the broker answers.
  const local = ['/api/v1/platform/.well-known/jwks.json', '/api/v1/platform/oauth/.well-known/jwks.json', '/api/v1/platform/oauth/.well-known/openid-configuration', '/v1/auth/config', '/auth/api/v1/healthz'];
  const answers: Record<string, { body: string; etag: string | null; cacheControl: string | null }> = {};
  for (const path of local) {
    const res = await fetch(`${base}${path}`);
    answers[path] = { body: await res.text(), etag: res.headers.get('etag'), cacheControl: res.headers.get('cache-control') };
  }
  const answersFile = join(tmpdir(), `rb-bench-answers-${process.pid}.json`);
  writeFileSync(answersFile, JSON.stringify(answers));
  const bare = spawn(process.execPath, ['bench/bare-server.mjs', answersFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const bareBase = `http://127.0.0.1:${JSON.parse(await firstLine(bare, (l) => l.startsWith('{'))).port}`;

  const cc = { client_id: 'connect-demo', client_secret: 'connect-demo-secret' };
  const pw = { username: 'alice@acme.example', password: 'alice-pass' };
  const cases: Case[] = [
    { name: 'client_credentials (connect/token)', reference: 'keycloak', ref: { url: `${direct}/token`, form: { ...cc, grant_type: 'client_credentials' } }, broker: { url: `${base}/auth/api/v1/oauth/connect/token`, form: cc } },
    { name: 'client_credentials, token cache (platform)', reference: 'keycloak', ref: { url: `${direct}/token`, form: { client_id: 'platform-service', client_secret: 'platform-service-secret', grant_type: 'client_credentials' } }, broker: { url: `${base}/api/v1/platform/oauth/token`, form: { client_id: 'platform-service', client_secret: 'platform-service-secret', grant_type: 'client_credentials' } } },
    { name: 'password (connect/user/login)', reference: 'keycloak', ref: { url: `${direct}/token`, form: { ...pw, client_id: 'realm-broker', client_secret: 'realm-broker-secret', grant_type: 'password' } }, broker: { url: `${base}/auth/api/v1/oauth/connect/user/login`, form: pw } },
    { name: 'refresh (ScaiWave /v1/auth/refresh)', reference: 'keycloak', ref: { url: `${direct}/token`, form: { client_id: 'realm-broker', client_secret: 'realm-broker-secret', grant_type: 'refresh_token', refresh_token: alice.refresh_token! } }, broker: { url: `${base}/v1/auth/refresh`, form: { refresh_token: alice.refresh_token! } } },
    { name: 'introspection (connect/introspect)', reference: 'keycloak', ref: { url: `${direct}/token/introspect`, form: { client_id: 'realm-broker', client_secret: 'realm-broker-secret', token: alice.access_token! } }, broker: { url: `${base}/auth/api/v1/oauth/connect/introspect`, form: { token: alice.access_token! } } },
    ...local.map((path): Case => ({ name: `local ${path}`, reference: 'bare', ref: { url: `${bareBase}${path}` }, broker: { url: `${base}${path}` } })),
  ];

  const results: { name: string; reference: string; ref: Side; broker: Side }[] = [];
  // BENCH_ONLY=<regexp>: only the cases whose name matches (while working on one).
  const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY, 'i') : undefined;
  for (const c of cases.filter((x) => !only || only.test(x.name))) {
    const refRuns: Side[] = [];
    const brokerRuns: Side[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      refRuns.push(await load(c.ref));
      const before = cpuUs(broker.pid!);
      const run = await load(c.broker);
      brokerRuns.push({ ...run, cpuUs: (cpuUs(broker.pid!) - before) / Math.max(1, run.requests) });
    }
    const mean = (runs: Side[]): Side => ({
      rps: runs.reduce((s, r) => s + r.rps, 0) / runs.length,
      p50: runs.reduce((s, r) => s + r.p50, 0) / runs.length,
      p99: runs.reduce((s, r) => s + r.p99, 0) / runs.length,
      requests: runs.reduce((s, r) => s + r.requests, 0),
      non2xx: runs.reduce((s, r) => s + r.non2xx, 0),
      cpuUs: runs[0]!.cpuUs === undefined ? undefined : runs.reduce((s, r) => s + (r.cpuUs ?? 0), 0) / runs.length,
    });
    results.push({ name: c.name, reference: c.reference, ref: mean(refRuns), broker: mean(brokerRuns) });
    process.stderr.write(`[bench] ${c.name}: done\n`);
  }
  broker.kill('SIGTERM');
  bare.kill('SIGTERM');

  console.log(`\nrealm-broker benchmark: ${ROUNDS} rounds × ${SECONDS} s per side, ${CONNECTIONS} connections, node ${process.version}, compiled broker\n`);
  console.log(`${'case'.padEnd(52)} ${'ref'.padEnd(8)} ${'ref req/s'.padStart(10)} ${'broker req/s'.padStart(12)} ${'ratio'.padStart(6)} ${'+p50 ms'.padStart(8)} ${'+p99 ms'.padStart(8)} ${'CPU µs/req'.padStart(11)} ${'non-2xx'.padStart(8)}`);
  for (const r of results) {
    console.log(`${r.name.padEnd(52)} ${r.reference.padEnd(8)} ${r.ref.rps.toFixed(0).padStart(10)} ${r.broker.rps.toFixed(0).padStart(12)} ${(r.broker.rps / r.ref.rps).toFixed(2).padStart(6)} ${(r.broker.p50 - r.ref.p50).toFixed(1).padStart(8)} ${(r.broker.p99 - r.ref.p99).toFixed(1).padStart(8)} ${(r.broker.cpuUs ?? 0).toFixed(0).padStart(11)} ${String(r.broker.non2xx + r.ref.non2xx).padStart(8)}`);
  }
  writeFileSync('bench/last-run.json', `${JSON.stringify({ at: new Date().toISOString(), node: process.version, seconds: SECONDS, connections: CONNECTIONS, rounds: ROUNDS, results }, null, 2)}\n`);
  console.log('\nwritten to bench/last-run.json');
  process.exit(0);
}

main().catch((err) => { console.error(err); process.exit(1); });
