/**
 * `npm run bench`: what the broker costs, measured side by side with its references in one
 * run, on the compiled broker (dist/, production logging), in its own process.
 *
 * Each case has three sides, each first run untimed for BENCH_WARMUP_SECONDS (V8's and the
 * JVM's compilers at work: a start cost, not a cost per request), then run alternately (ref,
 * floor, broker; again) for BENCH_ROUNDS rounds of BENCH_SECONDS, with autocannon at
 * BENCH_CONNECTIONS connections, loopback only:
 * - proxied grants: ref = the same request sent straight to Keycloak; floor = a bare
 *   reverse proxy (node:http + undici's keep-alive `request`, bench/bare-proxy.mjs), what
 *   any proxy on this machine spends at least;
 * - local answers: ref = a bare node:http server sending the same bytes
 *   (bench/bare-server.mjs); floor = a Koa app that does only that (bench/koa-floor.mjs).
 * Printed as a table and written to bench/last-run.json: throughput against ref and floor
 * (with the lowest and highest of the rounds' own ratios to ref: the spread a single round
 * shows on this machine), added p50/p99 latency against ref, and CPU microseconds per
 * request of the broker and the floor (user + system, from /proc/<pid>/stat over their own
 * runs: the figure that survives a noisy machine).
 *
 * Everything shares the machine's cores, so the table also says where the rest of each
 * request's CPU went, on the ref and broker sides: Keycloak's (its process group, from the pid
 * file scripts/keycloak.sh writes, or KEYCLOAK_PID) with its database's (every `postgres` process),
 * and the CPU of all that was measured (those, the load generator, which is this process, and
 * the proxy). When the cores are the bound, ×ref is about "all µs" ref over broker: a shortfall
 * is then the broker's own CPU, not more work for Keycloak.
 *
 * Saturated runs say what the broker takes from Keycloak's capacity, but their latency is then
 * mostly queueing: at a fixed number of connections, a 10% lower throughput is a 10% longer
 * wait for every request. So each proxied grant is also run paced (open loop: requests leave
 * on schedule, whatever is still in flight) at BENCH_PACE (default 0.5) of the lower of the
 * two saturated rates (Keycloak straight, and through the broker), ref, floor and broker
 * alternated; the latency the broker (and the bare proxy) adds at that load is taken from
 * those runs, timed to the microsecond.
 *
 * Then memory: the broker's RSS idle, and after BENCH_MEMORY_REQUESTS (default 100,000)
 * requests of each kind, read at half and at the end, so that growth with the number of
 * requests shows (the password grant is capped at 5,000: Keycloak hashes each password).
 *
 * The password case runs on one connection: Keycloak's brute-force protection (on in the
 * demo realms) refuses most of a user's concurrent sign-ins as "Invalid user credentials".
 *
 *   npm run bench                       (Keycloak must be running: npm run keycloak)
 *   BENCH_ONLY=refresh npm run bench    (only the cases whose name matches)
 *   BENCH_MEMORY_REQUESTS=0 npm run bench   (no memory phase)
 *   BENCH_PACE=0 npm run bench          (no paced runs)
 *   BENCH_WARMUP_SECONDS=0 npm run bench  (no untimed warm-up; default 5 s a side before each
 *                                           case's rounds, whose broker CPU is printed as warm µs)
 *   BENCH_IDLE_SECONDS=0 npm run bench  (no idle CPU measure; default 30 s, which takes in one
 *                                           refresh of the broker's realm list)
 *   BENCH_NODE=/path/to/node npm run bench  (the broker and the floors on that runtime, e.g.
 *                                           Node 24, which the image ships)
 */
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const KEYCLOAK = process.env.KEYCLOAK_URL ?? 'http://127.0.0.1:8080';
/** The demo's globex realm (server 1), where the bench turns the introspection cache on. */
const GLOBEX_ID = 'a1f870e0-c3da-48ee-815c-a1c8352270a0';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const PACE = Number(process.env.BENCH_PACE ?? 0.5);
const MEMORY_REQUESTS = Number(process.env.BENCH_MEMORY_REQUESTS ?? 100_000);
const PASSWORD_MEMORY_REQUESTS = Math.min(MEMORY_REQUESTS, 5_000);
/** Seconds with nothing sent, over which each process's idle CPU is measured (0: not measured). */
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 30);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
/** The runtime of the broker and of the floors and bare references (default: this one). */
const NODE = process.env.BENCH_NODE ?? process.execPath;
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

interface Req { url: string; method?: 'GET' | 'POST'; form?: Record<string, string>; headers?: Record<string, string>; connections?: number }
/**
 * `fresh`: run before the case's first request (the check) and again before its rounds and its
 * memory phase, to put tokens that live long enough into the forms (an access token lives 300 s
 * in the demo realms, and the cases before an introspection case take longer than that).
 * `expect`: what a good answer contains (an introspection answer that says inactive is a 200).
 */
interface Case { name: string; reference: 'keycloak' | 'bare'; ref: Req; floor: Req; broker: Req; fresh?: () => Promise<void>; expect?: string }
/** `failures`: what the non-2xx were (status codes, and autocannon's errors and timeouts), in last-run.json. */
/**
 * `cpuUs`: the proxy's (or bare server's) CPU per request; `upstreamUs`: Keycloak's and its
 * database's; `loadUs`: the load generator's (this process).
 */
interface Side { rps: number; p50: number; p99: number; requests: number; non2xx: number; cpuUs?: number; upstreamUs?: number; loadUs: number; failures: Record<string, number> }
/** Latency of the paced runs (ms), and how many requests failed there. */
interface Paced { p50: number; p99: number; requests: number; failed: number }
interface MemoryRow { name: string; requests: number; rssBeforeMiB: number; rssHalfMiB: number; rssAfterMiB: number; heapAfterMiB: number }

type Lines = { waitFor: (test: (line: string) => boolean) => Promise<string> };

/** A child's stdout lines: `waitFor` resolves with the first line (seen already or to come) that matches. */
function lines(child: ChildProcess): Lines {
  const seen: string[] = [];
  const waiting: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  let buffer = '';
  let exited: Error | undefined;
  const waiters = new Set<(err: Error) => void>();
  child.once('exit', (code) => {
    exited = new Error(`exited ${code} before it was ready`);
    for (const reject of waiters) reject(exited);
  });
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const complete = buffer.split('\n');
    buffer = complete.pop()!;
    for (const line of complete) {
      seen.push(line);
      for (const w of [...waiting]) if (w.test(line)) { waiting.splice(waiting.indexOf(w), 1); w.resolve(line); }
    }
  });
  return {
    waitFor: (test) => new Promise((resolve, reject) => {
      const found = seen.find(test);
      if (found !== undefined) return resolve(found);
      if (exited) return reject(exited);
      waiters.add(reject);
      waiting.push({ test, resolve });
    }),
  };
}

/**
 * The lines of a log file a child writes (the broker's): read from the file until one matches.
 * The broker logs to a file, as Keycloak does here, rather than through a pipe into this
 * process: this process is also the load generator, and reading (and keeping) an access line
 * per request here took CPU and heap from autocannon during the broker's own runs.
 */
function fileLines(child: ChildProcess, path: string): Lines {
  let exitCode: number | null | undefined;
  child.once('exit', (code) => { exitCode = code ?? null; });
  return {
    waitFor: async (test) => {
      for (;;) {
        const found = readFileSync(path, 'utf8').split('\n').find(test);
        if (found !== undefined) return found;
        if (exitCode !== undefined) throw new Error(`exited ${exitCode} before it was ready (its log: ${path})`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

/** User + system CPU of a process, in microseconds. */
function cpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / TICKS) * 1e6;
}

/**
 * Keycloak's processes and its database's, when Keycloak runs on this machine: the process
 * group of KEYCLOAK_PID or of the pid file scripts/keycloak.sh writes (server 1, the default
 * KEYCLOAK_URL; that pid is kc.sh, which runs java as its child or becomes it), and every
 * `postgres` process. None when Keycloak's is not found: the database alone would pass for
 * "KC+db". Re-read before each run (a backend may come or go).
 */
function upstreamPids(): number[] {
  const pidFile = '.keycloak/server1.pid';
  const keycloak = Number(process.env.KEYCLOAK_PID ?? (!process.env.KEYCLOAK_URL && existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() : NaN));
  if (!(keycloak > 0 && existsSync(`/proc/${keycloak}/stat`))) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const group = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (Number(entry) === keycloak || group === keycloak || comm === 'postgres') pids.push(Number(entry));
    } catch {
      // Gone since the listing.
    }
  }
  return pids;
}

/** Their CPU together, in microseconds (a process gone since the listing counts nothing). */
function cpuOfAll(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += cpuUs(pid);
    } catch {
      // Exited.
    }
  }
  return sum;
}

/** Resident set size of a process, in MiB. */
function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return kb / 1024;
}

function autocannonOptions(req: Req): autocannon.Options {
  const body = req.form ? new URLSearchParams(req.form).toString() : undefined;
  return {
    url: req.url, method: req.method ?? (body ? 'POST' : 'GET'), connections: req.connections ?? CONNECTIONS,
    headers: { ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...req.headers }, body,
  };
}

/** One run of `req`; `pid`: the proxy's or server's, `upstream`: to count Keycloak's and its database's CPU too. */
async function load(req: Req, pid?: number, upstream = false, seconds = SECONDS): Promise<Side> {
  const pids = upstream ? upstreamPids() : [];
  const before = pid === undefined ? 0 : cpuUs(pid);
  const upstreamBefore = cpuOfAll(pids);
  const loadBefore = process.cpuUsage();
  const raw = await autocannon({ ...autocannonOptions(req), duration: seconds });
  const loadCpu = process.cpuUsage(loadBefore);
  const n = Math.max(1, raw.requests.total);
  const side: Side = {
    rps: raw.requests.average, p50: raw.latency.p50, p99: raw.latency.p99, requests: raw.requests.total, non2xx: raw.non2xx + raw.errors, failures: failuresOf(raw),
    loadUs: (loadCpu.user + loadCpu.system) / n,
  };
  if (pid !== undefined) side.cpuUs = (cpuUs(pid) - before) / n;
  if (pids.length) side.upstreamUs = (cpuOfAll(pids) - upstreamBefore) / n;
  return side;
}

/** The `q` quantile of sorted `values`. */
function quantile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : Number.NaN;
}

/**
 * `req` at `rate` a second for SECONDS, open loop: each request leaves at its time whether or
 * not earlier ones have answered (a late answer cannot hold the next request back and hide
 * itself), over a keep-alive pool with room for all that are in flight, after a second at the
 * same rate that is not timed. Each latency is timed from the moment its request was sent.
 */
async function paced(req: Req, rate: number): Promise<Paced> {
  const url = new URL(req.url);
  const pool = new Pool(url.origin, { connections: 256 });
  const body = req.form ? new URLSearchParams(req.form).toString() : undefined;
  const options = {
    path: url.pathname + url.search, method: req.method ?? (body ? 'POST' : 'GET'), body,
    headers: { ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...req.headers },
  } as const;
  const latencies: number[] = [];
  const inFlight: Promise<void>[] = [];
  let failed = 0;
  const send = async (counted: boolean) => {
    const start = performance.now();
    try {
      const res = await pool.request(options);
      await res.body.arrayBuffer();
      if (res.statusCode !== 200) failed++;
      else if (counted) latencies.push(performance.now() - start);
    } catch {
      failed++;
    }
  };
  // The first second opens the pool's connections (and Keycloak's or the broker's side of
  // them): sent at the same rate, not timed.
  const warm = Math.round(rate);
  const total = warm + Math.round(rate * SECONDS);
  const begin = performance.now();
  for (let sent = 0; sent < total;) {
    const due = Math.min(total, Math.floor(((performance.now() - begin) * rate) / 1000) + 1);
    while (sent < due) { inFlight.push(send(sent >= warm)); sent++; }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  await pool.close();
  latencies.sort((a, b) => a - b);
  return { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), requests: latencies.length, failed };
}

/** What went wrong in a run, by kind: each non-2xx status, errors, timeouts. */
function failuresOf(raw: autocannon.Result): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [status, { count }] of Object.entries(raw.statusCodeStats ?? {})) if (!status.startsWith('2')) out[status] = count ?? 0;
  if (raw.errors) out.errors = raw.errors;
  if (raw.timeouts) out.timeouts = raw.timeouts;
  return out;
}

/** One request, which must succeed: a case that measures errors measures nothing. */
async function check(name: string, req: Req, expect?: string): Promise<void> {
  const res = await fetch(req.url, {
    method: req.method ?? (req.form ? 'POST' : 'GET'), headers: req.headers, body: req.form ? new URLSearchParams(req.form) : undefined,
  });
  const text = await res.text();
  if (res.status !== 200 || (expect && !text.includes(expect))) throw new Error(`${name}: ${req.url} answered ${res.status} ${text}`);
}

function meanPaced(runs: Paced[]): Paced {
  const avg = (f: (r: Paced) => number) => runs.reduce((s, r) => s + f(r), 0) / runs.length;
  return { p50: avg((r) => r.p50), p99: avg((r) => r.p99), requests: runs.reduce((s, r) => s + r.requests, 0), failed: runs.reduce((s, r) => s + r.failed, 0) };
}

function mean(runs: Side[]): Side {
  const avg = (f: (r: Side) => number) => runs.reduce((s, r) => s + f(r), 0) / runs.length;
  return {
    rps: avg((r) => r.rps), p50: avg((r) => r.p50), p99: avg((r) => r.p99),
    requests: runs.reduce((s, r) => s + r.requests, 0), non2xx: runs.reduce((s, r) => s + r.non2xx, 0),
    failures: runs.reduce<Record<string, number>>((all, r) => {
      for (const [kind, n] of Object.entries(r.failures)) all[kind] = (all[kind] ?? 0) + n;
      return all;
    }, {}),
    cpuUs: runs[0]!.cpuUs === undefined ? undefined : avg((r) => r.cpuUs ?? 0),
    upstreamUs: runs[0]!.upstreamUs === undefined ? undefined : avg((r) => r.upstreamUs ?? 0),
    loadUs: avg((r) => r.loadUs),
  };
}

/** The broker's heap in use, from its own metrics (management listener). */
async function heapMiB(management: string): Promise<number> {
  const text = await (await fetch(`${management}/metrics`)).text();
  return Number(/^realm_broker_nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? 0) / 1024 / 1024;
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
    introspectionCache: { maxAgeSeconds: 60, tenants: ['globex'] },
  }));
  const nodeVersion = execFileSync(NODE, ['--version']).toString().trim();
  const children: ChildProcess[] = [];
  /** A child on NODE; its stdout to `logFile` when given, else read here through a pipe (one line). */
  const start = async (args: string[], ready: (line: string) => boolean, env: NodeJS.ProcessEnv = process.env, logFile?: string) => {
    const stdout = logFile ? openSync(logFile, 'w') : 'pipe';
    const child = spawn(NODE, args, { env, stdio: ['ignore', stdout, 'inherit'] });
    if (typeof stdout === 'number') closeSync(stdout);
    children.push(child);
    const out = logFile ? fileLines(child, logFile) : lines(child);
    return { child, out, line: await out.waitFor(ready) };
  };
  process.on('exit', () => children.forEach((c) => c.kill('SIGTERM')));

  const brokerLog = join(tmpdir(), `rb-bench-broker-${process.pid}.log`);
  process.stderr.write(`[bench] the broker's log: ${brokerLog}\n`);
  const { child: broker, out: brokerOut, line: listening } = await start(['dist/main.js'], (l) => l.includes('realm-broker listening'), {
    ...process.env, CONFIG_FILE: config, PORT: '0', MANAGEMENT_PORT: '0', KEYCLOAK_URL: KEYCLOAK, LOG_LEVEL: 'info',
  }, brokerLog);
  const base = `http://127.0.0.1:${JSON.parse(listening).port}`;
  const managementLine = await brokerOut.waitFor((l) => l.includes('managementPort'));
  const management = `http://127.0.0.1:${JSON.parse(managementLine).managementPort}`;

  const post = async (url: string, form: Record<string, string>) => (await fetch(url, { method: 'POST', body: new URLSearchParams(form) })).json() as Promise<Record<string, string>>;
  const direct = `${KEYCLOAK}/realms/acme/protocol/openid-connect`;
  const alice = await post(`${base}/auth/api/v1/oauth/connect/user/login`, { username: 'alice@acme.example', password: 'alice-pass', scopes: 'openid' });
  if (!alice.refresh_token) throw new Error(`alice could not sign in through the broker: ${JSON.stringify(alice)}`);

  // The bare references serve exactly the bytes (and caching headers) the broker answers.
  const local = ['/api/v1/platform/.well-known/jwks.json', '/api/v1/platform/oauth/.well-known/jwks.json', '/api/v1/platform/oauth/.well-known/openid-configuration', '/v1/auth/config', '/auth/api/v1/healthz'];
  const answers: Record<string, { body: string; etag: string | null; cacheControl: string | null }> = {};
  for (const path of local) {
    const res = await fetch(`${base}${path}`);
    answers[path] = { body: await res.text(), etag: res.headers.get('etag'), cacheControl: res.headers.get('cache-control') };
  }
  const answersFile = join(tmpdir(), `rb-bench-answers-${process.pid}.json`);
  writeFileSync(answersFile, JSON.stringify(answers));
  const portOf = (line: string) => JSON.parse(line).port as number;
  const { child: bare, line: bareLine } = await start(['bench/bare-server.mjs', answersFile], (l) => l.startsWith('{'));
  const { child: koa, line: koaLine } = await start(['bench/koa-floor.mjs', answersFile], (l) => l.startsWith('{'));
  const { child: proxy, line: proxyLine } = await start(['bench/bare-proxy.mjs', KEYCLOAK], (l) => l.startsWith('{'));
  const bareBase = `http://127.0.0.1:${portOf(bareLine)}`;
  const koaBase = `http://127.0.0.1:${portOf(koaLine)}`;
  const proxied = `http://127.0.0.1:${portOf(proxyLine)}/realms/acme/protocol/openid-connect`;

  const cc = { client_id: 'connect-demo', client_secret: 'connect-demo-secret' };
  const service = { client_id: 'platform-service', client_secret: 'platform-service-secret', grant_type: 'client_credentials' };
  const pw = { username: 'alice@acme.example', password: 'alice-pass' };
  const viaBroker = { client_id: 'realm-broker', client_secret: 'realm-broker-secret' };
  const keycloakCase = (name: string, path: string, form: Record<string, string>, broker: Req, realm = 'acme'): Case => {
    const at = (base: string) => base.replace('/realms/acme/', `/realms/${realm}/`);
    return { name, reference: 'keycloak', ref: { url: `${at(direct)}${path}`, form, connections: broker.connections }, floor: { url: `${at(proxied)}${path}`, form, connections: broker.connections }, broker };
  };
  /** An introspection case, whose token is fetched anew before each of its phases by `token()`. */
  const introspectionCase = (name: string, realm: string, brokerUrl: string, brokerForm: Record<string, string>, token: () => Promise<string>): Case => {
    const form = { ...viaBroker, token: '' };
    const broker = { url: brokerUrl, form: { ...brokerForm, token: '' } };
    const fresh = async () => { form.token = broker.form.token = await token(); };
    return { ...keycloakCase(name, '/token/introspect', form, broker, realm), fresh, expect: '"active":true' };
  };
  const aliceToken = async () => {
    // A few tries: right after the password case, Keycloak's brute-force protection may still refuse one.
    let signedIn: Record<string, string> = {};
    for (let attempt = 0; attempt < 5 && !signedIn.access_token; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, 1000));
      signedIn = await post(`${base}/auth/api/v1/oauth/connect/user/login`, { username: 'alice@acme.example', password: 'alice-pass', scopes: 'openid' });
    }
    if (!signedIn.access_token) throw new Error(`alice could not sign in through the broker: ${JSON.stringify(signedIn)}`);
    return signedIn.access_token;
  };
  const globexServiceToken = async () => {
    const granted = await post(`${base}/auth/api/v1/oauth/connect/token`, { ...cc, realm: GLOBEX_ID });
    if (!granted.access_token) throw new Error(`connect-demo got no token at globex: ${JSON.stringify(granted)}`);
    return granted.access_token;
  };
  const cases: Case[] = [
    keycloakCase('client_credentials (connect/token)', '/token', { ...cc, grant_type: 'client_credentials' }, { url: `${base}/auth/api/v1/oauth/connect/token`, form: cc }),
    keycloakCase('client_credentials, token cache (platform)', '/token', service, { url: `${base}/api/v1/platform/oauth/token`, form: service }),
    keycloakCase('password (connect/user/login)', '/token', { ...pw, ...viaBroker, grant_type: 'password' }, { url: `${base}/auth/api/v1/oauth/connect/user/login`, form: pw, connections: 1 }),
    keycloakCase('refresh (ScaiWave /v1/auth/refresh)', '/token', { ...viaBroker, grant_type: 'refresh_token', refresh_token: alice.refresh_token }, { url: `${base}/v1/auth/refresh`, form: { refresh_token: alice.refresh_token } }),
    introspectionCase('introspection (connect/introspect)', 'acme', `${base}/auth/api/v1/oauth/connect/introspect`, {}, aliceToken),
    // The introspection cache is on for globex only (above): a service token, introspected again and again.
    introspectionCase('introspection, cache (connect, globex)', 'globex', `${base}/auth/api/v1/oauth/connect/introspect`, { realm: GLOBEX_ID }, globexServiceToken),
    ...local.map((path): Case => ({ name: `local ${path}`, reference: 'bare', ref: { url: `${bareBase}${path}` }, floor: { url: `${koaBase}${path}` }, broker: { url: `${base}${path}` } })),
  ];

  // BENCH_ONLY=<regexp>: only the cases whose name matches (while working on one).
  const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY, 'i') : undefined;
  const chosen = cases.filter((x) => !only || only.test(x.name));
  for (const c of chosen) {
    await c.fresh?.();
    await check(c.name, c.ref, c.expect);
    await check(c.name, c.floor, c.expect);
    await check(c.name, c.broker, c.expect);
  }

  const results: {
    name: string; reference: string; ref: Side; floor: Side; broker: Side; rounds: { ref: Side[]; floor: Side[]; broker: Side[] };
    warmup?: { ref: Side; floor: Side; broker: Side }; paced?: { rate: number; ref: Paced; floor: Paced; broker: Paced };
  }[] = [];
  for (const c of chosen) {
    await c.fresh?.();
    const runs: { ref: Side[]; floor: Side[]; broker: Side[] } = { ref: [], floor: [], broker: [] };
    const floorPid = c.reference === 'keycloak' ? proxy.pid! : koa.pid!;
    const upstream = c.reference === 'keycloak';
    /** One run of each side, in turn: ref, floor, broker. */
    const sides = async (seconds?: number) => ({
      ref: await load(c.ref, c.reference === 'bare' ? bare.pid! : undefined, upstream, seconds),
      floor: await load(c.floor, floorPid, upstream, seconds),
      broker: await load(c.broker, broker.pid!, upstream, seconds),
    });
    // Untimed first: each side's code paths compiled (V8's JIT in the Node processes, the JVM's
    // in Keycloak), so that the rounds measure the cost per request of a process that has been
    // running, not its start. What the broker spent meanwhile is kept (warm µs), not hidden.
    const warmup = WARMUP_SECONDS > 0 ? await sides(WARMUP_SECONDS) : undefined;
    for (let round = 0; round < ROUNDS; round++) {
      const run = await sides();
      runs.ref.push(run.ref);
      runs.floor.push(run.floor);
      runs.broker.push(run.broker);
    }
    const result: (typeof results)[number] = { name: c.name, reference: c.reference, ref: mean(runs.ref), floor: mean(runs.floor), broker: mean(runs.broker), rounds: runs, warmup };
    if (c.reference === 'keycloak' && PACE > 0) {
      // Of the lower of the two saturated rates, so that neither side runs near its own limit
      // (where queueing, not the broker's work per request, would be what shows).
      const rate = Math.max(1, Math.round(Math.min(result.ref.rps, result.broker.rps) * PACE));
      const sides: { ref: Paced[]; floor: Paced[]; broker: Paced[] } = { ref: [], floor: [], broker: [] };
      for (let round = 0; round < ROUNDS; round++) {
        sides.ref.push(await paced(c.ref, rate));
        sides.floor.push(await paced(c.floor, rate));
        sides.broker.push(await paced(c.broker, rate));
      }
      result.paced = { rate, ref: meanPaced(sides.ref), floor: meanPaced(sides.floor), broker: meanPaced(sides.broker) };
    }
    // Still what was measured at the end (a token that expired mid-case would be a 200 all the same).
    if (c.expect) await check(`${c.name} (after its runs)`, c.broker, c.expect);
    results.push(result);
    process.stderr.write(`[bench] ${c.name}: done\n`);
  }

  // Idle CPU: what each process spends a second with nothing sent (timers, caches kept fresh).
  const idle: Record<string, number> = {};
  if (IDLE_SECONDS > 0) {
    const idlers: [string, number][] = [['broker', broker.pid!], ['bare proxy', proxy.pid!], ['Koa floor', koa.pid!], ['bare server', bare.pid!]];
    const before = idlers.map(([, pid]) => cpuUs(pid));
    await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
    idlers.forEach(([name, pid], i) => { idle[name] = (cpuUs(pid) - before[i]!) / 1000 / IDLE_SECONDS; });
    process.stderr.write('[bench] idle CPU: done\n');
  }

  // Memory: idle, then each kind in two halves on the broker alone.
  const memory: MemoryRow[] = [];
  const rssIdle = rssMiB(broker.pid!);
  if (MEMORY_REQUESTS > 0) {
    for (const c of chosen) {
      const requests = c.name.startsWith('password') ? PASSWORD_MEMORY_REQUESTS : MEMORY_REQUESTS;
      await c.fresh?.();
      const rssBefore = rssMiB(broker.pid!);
      await autocannon({ ...autocannonOptions(c.broker), amount: Math.floor(requests / 2) });
      const rssHalf = rssMiB(broker.pid!);
      await autocannon({ ...autocannonOptions(c.broker), amount: Math.ceil(requests / 2) });
      memory.push({ name: c.name, requests, rssBeforeMiB: rssBefore, rssHalfMiB: rssHalf, rssAfterMiB: rssMiB(broker.pid!), heapAfterMiB: await heapMiB(management) });
      process.stderr.write(`[bench] memory, ${c.name}: done\n`);
    }
  }
  for (const c of children) c.kill('SIGTERM');
  rmSync(brokerLog); // an access line per request: hundreds of MiB after the memory phase (kept when the run fails)

  const num = (n: number, digits = 0) => n.toFixed(digits);
  const cols: [string, number][] = [['case', 52], ['ref', 8], ['ref req/s', 10], ['floor req/s', 11], ['broker req/s', 12], ['×ref', 5], ['rounds ×ref', 11], ['×floor', 6], ['sat +p50', 8], ['sat +p99', 8], ['paced/s', 7], ['+p50 ms', 8], ['+p99 ms', 8], ['floor +p50/+p99', 15], ['floor µs', 8], ['broker µs', 9], ['warm µs', 7], ['KC+db µs', 11], ['all µs', 11], ['non-2xx', 7]];
  // Per request, ref side / broker side: Keycloak and its database; and all the CPU measured.
  const pair = (ref: number | undefined, broker: number | undefined) => (ref === undefined || broker === undefined ? '-' : `${num(ref)}/${num(broker)}`);
  // Without Keycloak's share a proxied case's total is not the machine's: none then.
  const all = (s: Side, reference: string) => (reference === 'keycloak' && s.upstreamUs === undefined ? undefined : (s.upstreamUs ?? 0) + s.loadUs + (s.cpuUs ?? 0));
  // The rounds' own ×ref (a round's ref and broker sides run back to back), lowest to highest:
  // how far one round's figure can be from the mean.
  const spread = ({ ref, broker }: { ref: Side[]; broker: Side[] }) => {
    const ratios = broker.map((b, i) => b.rps / ref[i]!.rps);
    return ratios.length < 2 ? '-' : `${num(Math.min(...ratios), 2)}–${num(Math.max(...ratios), 2)}`;
  };
  const row = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(cols[i]![1]) : c.padStart(cols[i]![1]))).join(' ');
  console.log(`\nrealm-broker benchmark: ${ROUNDS} rounds × ${SECONDS} s per side, ${CONNECTIONS} connections, node ${nodeVersion}, compiled broker`);
  console.log('ref = straight to Keycloak, or a bare node:http server with the same bytes; floor = a bare undici proxy, or a Koa app with the same bytes; µs = CPU per request (user + system); rounds ×ref = the lowest and highest of the rounds\' own ×ref');
  console.log(`sat +p50/+p99 = latency added in the saturated runs (mostly queueing: see bench/run.ts); paced/s, +p50/+p99 = a fixed rate, ${PACE} of the lower saturated throughput of ref and broker, and the latency the broker (and the floor) adds at it (ms, paced runs alternated, ${ROUNDS} × ${SECONDS} s each)`);
  console.log(`warm µs = the broker's CPU per request in the case's untimed warm-up (${WARMUP_SECONDS} s a side, before the rounds: JIT compilation is most of the difference)`);
  console.log('KC+db = Keycloak and its database, ref/broker side; all = those, the load generator and the proxy or server, ref/broker side ("-" in both for a proxied case: Keycloak not found on this machine)\n');
  console.log(row(cols.map(([name]) => name)));
  for (const r of results) {
    console.log(row([r.name, r.reference, num(r.ref.rps), num(r.floor.rps), num(r.broker.rps), num(r.broker.rps / r.ref.rps, 2), spread(r.rounds), num(r.broker.rps / r.floor.rps, 2),
      num(r.broker.p50 - r.ref.p50, 1), num(r.broker.p99 - r.ref.p99, 1),
      r.paced ? num(r.paced.rate) : '-', r.paced ? num(r.paced.broker.p50 - r.paced.ref.p50, 2) : '-', r.paced ? num(r.paced.broker.p99 - r.paced.ref.p99, 2) : '-',
      r.paced ? `${num(r.paced.floor.p50 - r.paced.ref.p50, 2)}/${num(r.paced.floor.p99 - r.paced.ref.p99, 2)}` : '-', num(r.floor.cpuUs ?? 0), num(r.broker.cpuUs ?? 0), r.warmup ? num(r.warmup.broker.cpuUs ?? 0) : '-',
      pair(r.ref.upstreamUs, r.broker.upstreamUs), pair(all(r.ref, r.reference), all(r.broker, r.reference)), String(r.broker.non2xx + r.ref.non2xx + r.floor.non2xx + (r.paced ? r.paced.ref.failed + r.paced.floor.failed + r.paced.broker.failed : 0))]));
  }
  if (IDLE_SECONDS > 0) {
    console.log(`\nidle CPU over ${IDLE_SECONDS} s, nothing sent (ms a second): ${Object.entries(idle).map(([name, ms]) => `${name} ${num(ms, 2)}`).join(', ')}`);
  }
  if (memory.length) {
    console.log(`\nbroker memory: RSS ${num(rssIdle)} MiB idle (after start-up and one request of each kind)\n`);
    const mcols: [string, number][] = [['kind', 52], ['requests', 9], ['RSS before', 11], ['at half', 8], ['at end', 8], ['2nd half', 9], ['heap used', 10]];
    const mrow = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(mcols[i]![1]) : c.padStart(mcols[i]![1]))).join(' ');
    console.log(mrow(mcols.map(([name]) => name)));
    for (const m of memory) {
      const delta = m.rssAfterMiB - m.rssHalfMiB;
      console.log(mrow([m.name, String(m.requests), num(m.rssBeforeMiB), num(m.rssHalfMiB), num(m.rssAfterMiB), `${delta >= 0 ? '+' : ''}${num(delta)}`, num(m.heapAfterMiB)]));
    }
    console.log('(MiB; "2nd half" is the RSS change over the second half of the requests: growth with the number of requests shows there)');
  }
  writeFileSync('bench/last-run.json', `${JSON.stringify({ at: new Date().toISOString(), node: nodeVersion, seconds: SECONDS, connections: CONNECTIONS, rounds: ROUNDS, warmupSeconds: WARMUP_SECONDS, results, idleCpuMsPerSecond: idle, memory: { rssIdleMiB: rssIdle, kinds: memory } }, null, 2)}\n`);
  console.log('\nwritten to bench/last-run.json');
  process.exit(0);
}

main().catch((err) => { console.error(err); process.exit(1); });
