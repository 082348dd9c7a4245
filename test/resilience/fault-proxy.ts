/**
 * Proxies that play a dependency's faults without touching the real server (the Keycloak
 * on :8080 is shared by everyone running tests: it must never be stopped).
 *
 * FaultProxy (HTTP, in front of Keycloak). It sends the target's own Host, because
 * Keycloak builds its issuer from the Host it is called with (tokens keep their issuer).
 * - `normal()`: forwards.
 * - `refuse()`: the process is gone: the listener closes (connections are refused) and
 *   open connections are reset, as when Keycloak is killed.
 * - `freeze()`: the process is stopped (SIGSTOP): connections are accepted but no request
 *   is answered; the held requests go through on `normal()`, as after SIGCONT.
 * - `slow(ms)`: every request is forwarded `ms` late.
 *
 * Balancer (TCP, in front of the replicas): each connection goes to the next replica
 * that accepts it, so a killed replica's share moves to the others.
 */
import http from 'node:http';
import net from 'node:net';

export type FaultMode = 'normal' | 'refuse' | 'freeze' | 'slow';

export class FaultProxy {
  private server?: http.Server;
  private readonly sockets = new Set<net.Socket>();
  private held: (() => void)[] = [];
  private readonly agent = new http.Agent({ keepAlive: true });
  mode: FaultMode = 'normal';
  private delayMs = 0;
  port = 0;
  /** Requests forwarded so far, and by path (without the query). */
  forwarded = 0;
  readonly byPath = new Map<string, number>();

  constructor(private readonly target: URL) {}

  static to(url: string): FaultProxy {
    return new FaultProxy(new URL(url));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    await this.listen();
    return this;
  }

  private listen(): Promise<void> {
    const server = http.createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 60_000;
    server.on('connection', (s) => { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        this.port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const go = () => this.forward(req, res);
    if (this.mode === 'freeze') this.held.push(go);
    else if (this.mode === 'slow') setTimeout(go, this.delayMs);
    else go();
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.destroyed) return;
    this.forwarded++;
    const path = (req.url ?? '').split('?')[0]!;
    this.byPath.set(path, (this.byPath.get(path) ?? 0) + 1);
    const upstream = http.request({
      host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, agent: this.agent,
      headers: { ...req.headers, host: this.target.host },
    }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  async normal(): Promise<void> {
    this.mode = 'normal';
    if (!this.server?.listening) await this.listen();
    const held = this.held;
    this.held = [];
    for (const go of held) go();
  }

  /** Keycloak killed: nothing listens, open connections are reset, held requests die. */
  async refuse(): Promise<void> {
    this.mode = 'refuse';
    this.held = [];
    const server = this.server;
    if (server?.listening) {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const s of this.sockets) s.resetAndDestroy();
      await closed;
    }
  }

  /** Keycloak stopped: requests are accepted and never answered until `normal()`. */
  freeze(): void {
    this.mode = 'freeze';
  }

  slow(ms: number): void {
    this.delayMs = ms;
    this.mode = 'slow';
  }

  async close(): Promise<void> {
    await this.refuse();
    this.agent.destroy();
  }
}

export class Balancer {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private targets: { host: string; port: number }[] = [];
  private next = 0;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Where new connections go from now on (a sticky session, a drain, a replaced replica). */
  route(urls: string[]): void {
    this.targets = urls.map((u) => ({ host: new URL(u).hostname, port: Number(new URL(u).port) }));
  }

  /**
   * Closes every open connection, so that clients' keep-alive pools reconnect and follow
   * the routes set since; resolves once the clients have had a moment to see it.
   */
  async dropConnections(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
  }

  async start(): Promise<this> {
    const server = net.createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => {});
      client.pause();
      this.connect(client, 0);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    return this;
  }

  /** Tries the targets in turn from the next one (round robin with failover). */
  private connect(client: net.Socket, tried: number): void {
    if (tried >= this.targets.length) { client.destroy(); return; }
    const target = this.targets[this.next++ % this.targets.length]!;
    const upstream = net.connect(target.port, target.host);
    let connected = false;
    upstream.on('connect', () => {
      connected = true;
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => { if (!connected) this.connect(client, tried + 1); else client.destroy(); });
    upstream.on('close', () => { if (connected) client.destroy(); });
    client.on('close', () => upstream.destroy());
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise((resolve) => server.close(resolve));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
