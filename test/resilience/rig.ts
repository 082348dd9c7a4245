/**
 * The fault rig: a Redis of its own, a fault proxy in front of the real (shared) Keycloak,
 * two broker replicas as processes, and a load balancer (another proxy) in front of them
 * as their one public URL. Faults are played on the proxies and on the rig's own Redis;
 * the shared Keycloak and Redis are never stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Balancer, FaultProxy } from './fault-proxy.js';
import { Replica } from './replica.js';

export const KEYCLOAK = process.env.KEYCLOAK_URL ?? 'http://127.0.0.1:8080';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A redis-server of the rig's own, on an ephemeral port, keeping nothing on disk. */
export class OwnRedis {
  private child?: ChildProcess;
  private constructor(readonly port: number) {}

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.up();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    this.child = child;
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(this.port, '127.0.0.1', () => { s.destroy(); resolve(true); });
        s.on('error', () => resolve(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('redis-server did not start');
  }

  /** Killed, not shut down: what a crash looks like to the broker. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

export interface RigOptions {
  upstreamTimeoutMs: number;
  /** Short, so that the tenant registry refetches during an outage as it would after 30 s. */
  tenantCacheTtlMs?: number;
  logLevel?: string;
  /** Platform settings over the demo config's (a short device polling interval for tests). */
  platform?: Record<string, unknown>;
}

/** The demo config with `platform` settings over it, in a temporary file for the replicas. */
function configFile(platform: Record<string, unknown> = {}): string {
  const demo = JSON.parse(readFileSync('demo.config.json', 'utf8'));
  const file = join(mkdtempSync(join(tmpdir(), 'rb-resilience-')), 'config.json');
  writeFileSync(file, JSON.stringify({ ...demo, platform: { ...demo.platform, ...platform } }));
  return file;
}

export class Rig {
  replicas: Replica[] = [];

  private constructor(
    readonly keycloak: FaultProxy,
    readonly lb: Balancer,
    readonly redis: OwnRedis,
    private readonly env: Record<string, string>,
  ) {}

  static async start(options: RigOptions): Promise<Rig> {
    const [redis, keycloak, lb] = await Promise.all([OwnRedis.start(), FaultProxy.to(KEYCLOAK).start(), new Balancer().start()]);
    const env = {
      CONFIG_FILE: configFile(options.platform),
      KEYCLOAK_URL: keycloak.url,
      KEYCLOAK_PUBLIC_URL: KEYCLOAK,
      PUBLIC_URL: lb.url,
      REDIS_URL: redis.url,
      UPSTREAM_TIMEOUT_MS: String(options.upstreamTimeoutMs),
      TENANT_CACHE_TTL_MS: String(options.tenantCacheTtlMs ?? 1000),
      LOG_LEVEL: options.logLevel ?? 'info',
    };
    const rig = new Rig(keycloak, lb, redis, env);
    rig.replicas = await Promise.all([Replica.start(env), Replica.start(env)]);
    lb.route(rig.replicas.map((r) => r.url));
    return rig;
  }

  get url(): string {
    return this.lb.url;
  }

  /** Sends the balancer's traffic to these replicas only (a sticky session, a drain), from now on. */
  async routeTo(...replicas: Replica[]): Promise<void> {
    this.lb.route(replicas.map((r) => r.url));
    await this.lb.dropConnections();
  }

  async replaceDead(): Promise<void> {
    for (let i = 0; i < this.replicas.length; i++) {
      const r = this.replicas[i]!;
      if (r.child.exitCode !== null || r.child.signalCode !== null) this.replicas[i] = await Replica.start(this.env);
    }
    this.lb.route(this.replicas.map((r) => r.url));
  }

  async close(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.kill('SIGTERM')));
    await Promise.all([this.keycloak.close(), this.lb.close(), this.redis.kill()]);
  }
}
