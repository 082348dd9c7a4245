/**
 * An HTTP server in front of a real Keycloak that passes every request through, except
 * the ones a test has armed a fault for: a slow answer, a status with a body of its choice,
 * or a connection reset. What a real Keycloak can't be made to do on demand, played by a
 * real server over a real socket, so that it reaches the broker however the broker calls
 * Keycloak (its keep-alive pool included, which nock can't see).
 *
 * Requests keep their Host header (this server's address), so Keycloak names its endpoints
 * and issuer after this server, as it would after any proxy.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  | { kind: 'delay'; ms: number }
  | { kind: 'reply'; status: number; body: string; contentType?: string }
  | { kind: 'reset' };

export class FaultServer {
  private server?: Server;
  private readonly armed: { method: string; path: string; fault: Fault }[] = [];
  private readonly sockets = new Set<Socket>();

  constructor(private readonly target: string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** The next `method` request to `path` meets `fault` (once). */
  arm(method: string, path: string, fault: Fault): void {
    this.armed.push({ method, path, fault });
  }

  /** Faults armed and not met yet. */
  get pending(): number {
    return this.armed.length;
  }

  /** Forgets every fault not met yet. */
  disarm(): void {
    this.armed.length = 0;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const at = this.armed.findIndex((a) => a.method === req.method && req.url?.split('?')[0] === a.path);
    if (at >= 0) {
      const [{ fault }] = this.armed.splice(at, 1);
      req.resume();
      if (fault.kind === 'reset') {
        req.socket.destroy();
      } else if (fault.kind === 'delay') {
        // Answers late, if the caller is still there.
        const timer = setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'), fault.ms);
        res.on('close', () => clearTimeout(timer));
      } else {
        res.writeHead(fault.status, { 'content-type': fault.contentType ?? 'application/json' }).end(fault.body);
      }
      return;
    }
    const target = new URL(req.url ?? '/', this.target);
    const upstream = request(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }
}
