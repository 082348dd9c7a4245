/** The broker as a process: it refuses a bad config with every problem, serves, and stops cleanly on SIGTERM. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { KEYCLOAK_URL } from '../helpers/services.js';

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH!, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => { stdout += c; });
  child.stderr.on('data', (c) => { stderr += c; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

/** The JSON lines the broker wrote so far. */
const linesOf = (p: ReturnType<typeof run>) => p.out().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

/** Waits (up to 10 s) for a line that `pick` finds a value in, and returns that value. */
async function valueLogged<T>(p: ReturnType<typeof run>, pick: (line: Record<string, unknown>) => T | undefined): Promise<T | undefined> {
  for (let i = 0; i < 100; i++) {
    for (const line of linesOf(p)) {
      const value = pick(line);
      if (value !== undefined) return value;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

const listeningPort = (p: ReturnType<typeof run>) => valueLogged(p, (l) => (l.msg === 'realm-broker listening' && typeof l.port === 'number' ? l.port : undefined));
const managementPortOf = (p: ReturnType<typeof run>) => valueLogged(p, (l) => (typeof l.managementPort === 'number' ? l.managementPort : undefined));

describe('the broker process', function () {
  this.timeout(30_000);

  it('exits 1 on a bad config, listing every problem', async () => {
    const p = run({ NODE_ENV: 'production', PORT: 'x' });
    assert.equal(await p.exited, 1);
    for (const word of ['KC_ADMIN_CLIENT_SECRET', 'BROKER_CLIENT_SECRET', 'PUBLIC_URL', 'port']) assert.match(p.err(), new RegExp(word));
  });

  it('serves, then shuts down gracefully on SIGTERM', async () => {
    const p = run({ PORT: '0', MANAGEMENT_PORT: '0', CONFIG_FILE: 'demo.config.json', KEYCLOAK_URL, LOG_LEVEL: 'info' });
    const port = await listeningPort(p);
    const managementPort = await managementPortOf(p);
    assert.ok(port && managementPort, `started: ${p.out()} ${p.err()}`);
    const res = await fetch(`http://127.0.0.1:${port}/auth/api/v1/readyz`);
    assert.equal(res.status, 200);
    const metrics = await (await fetch(`http://127.0.0.1:${managementPort}/metrics`)).text();
    assert.match(metrics, /realm_broker_http_request_duration_seconds_count\{[^}]*route="\/auth\/api\/v1\/readyz"/);
    assert.equal((await fetch(`http://127.0.0.1:${managementPort}/readyz`)).status, 200);
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0);
    assert.match(p.out(), /shutting down/);
  });

  it('writes every line whole, batched, and what is left at exit', async () => {
    const p = run({ PORT: '0', MANAGEMENT_PORT: '-1', CONFIG_FILE: 'demo.config.json', KEYCLOAK_URL, LOG_LEVEL: 'info' });
    const port = await listeningPort(p);
    assert.ok(port, `started: ${p.out()} ${p.err()}`);
    // Several batches' worth (a line is about 200 characters), the last one short of a batch.
    const n = 700;
    for (let i = 0; i < n; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, n - i) }, async () => (await fetch(`http://127.0.0.1:${port}/auth/api/v1/healthz`)).text()));
    }
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0);
    const lines = p.out().split('\n').filter(Boolean);
    const parsed = lines.map((l) => JSON.parse(l) as { route?: string; msg: string });
    assert.equal(parsed.filter((l) => l.route === '/auth/api/v1/healthz').length, n);
    assert.equal(parsed.at(-1)?.msg, 'shutting down');
  });

  it('holds at most LOG_BUFFER_BYTES while stdout takes no lines, then counts and reports what it dropped', async () => {
    const p = run({ PORT: '0', MANAGEMENT_PORT: '0', CONFIG_FILE: 'demo.config.json', KEYCLOAK_URL, LOG_LEVEL: 'info', LOG_BUFFER_BYTES: '65536' });
    const port = await listeningPort(p);
    const managementPort = await managementPortOf(p);
    assert.ok(port && managementPort, `started: ${p.out()} ${p.err()}`);
    const dropped = async () => Number(/^realm_broker_log_lines_dropped_total (\d+)/m.exec(await (await fetch(`http://127.0.0.1:${managementPort}/metrics`)).text())?.[1]);
    assert.equal(await dropped(), 0);
    // A stalled log collector: nothing reads the broker's stdout, whose pipe fills (a few
    // hundred KiB), then the 64 KiB the broker may hold. 8,000 access lines are about 1.6 MB.
    p.child.stdout.pause();
    const n = 8000;
    for (let i = 0; i < n; i += 100) {
      const answers = await Promise.all(Array.from({ length: 100 }, async () => (await fetch(`http://127.0.0.1:${port}/auth/api/v1/healthz`)).status));
      assert.ok(answers.every((s) => s === 200), 'the broker serves while its stdout is stalled');
    }
    await new Promise((r) => setTimeout(r, 300)); // the last batch handed over
    const counted = await dropped();
    assert.ok(counted > 0, 'lines past the bound are dropped and counted');
    // The collector is back: what was held arrives, and a warning says how many were dropped.
    p.child.stdout.resume();
    const isWarning = (l: Record<string, unknown>) => l.msg === 'log lines dropped: stdout did not take them (LOG_BUFFER_BYTES)';
    assert.ok(await valueLogged(p, (l) => (isWarning(l) ? true : undefined)), 'the warning comes while the broker runs');
    // The drops may be reported in several warnings (one taken while the pipe had room, the
    // rest once it drains), and held lines may still be on their way: count after a graceful
    // stop, which writes everything held and owed.
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0);
    const warned = linesOf(p).filter(isWarning);
    assert.equal(warned.reduce((sum, l) => sum + (l.droppedLines as number), 0), counted);
    const written = linesOf(p).filter((l) => l.route === '/auth/api/v1/healthz').length;
    assert.equal(written + counted, n, 'every access line is either written or counted as dropped');
  });
  // Attack helper round 27: with MANAGEMENT_PORT=-1 the image's health check asked port 9464,
  // where this broker does not listen: always unhealthy (or healthy by another process's port).
  it('the container health check asks the port this broker answers on, the public one when management is off', async () => {
    const check = (env: Record<string, string>) => new Promise<number | null>((resolve) => {
      spawn(process.execPath, ['--import', 'tsx', 'src/healthcheck.ts'], { env: { PATH: process.env.PATH!, ...env }, stdio: 'ignore' }).on('exit', resolve);
    });
    const p = run({ PORT: '0', MANAGEMENT_PORT: '-1', CONFIG_FILE: 'demo.config.json', KEYCLOAK_URL, LOG_LEVEL: 'info' });
    const port = await listeningPort(p);
    assert.ok(port, `started: ${p.out()} ${p.err()}`);
    try {
      assert.equal(await check({ PORT: String(port), MANAGEMENT_PORT: '-1', HOST: '0.0.0.0' }), 0, 'healthy through the public port');
      assert.equal(await check({ PORT: String(port), MANAGEMENT_PORT: '1' }), 1, 'a management port nothing answers on is unhealthy');
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });
});
