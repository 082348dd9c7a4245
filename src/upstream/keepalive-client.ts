/**
 * The hot path to one Keycloak server: form-encoded POSTs over a sized pool of keep-alive
 * connections (undici's Pool, one per origin), the whole body buffered and returned as it came.
 *
 * Why not `fetch`: the proxied grants are most of what the broker does, and global fetch
 * (undici under web streams) cost about three times the CPU of undici's `request` per call
 * on this path (node:http's client, tried first, about one and a half); openid-client also
 * sent the form as a streamed, chunked body. Discovery, JWKS and the admin API (rare calls)
 * keep using fetch through `guardedFetch`.
 *
 * Every call runs under the request's deadline and the server's circuit breaker
 * (`guardedCall`). Its failures, all read by translate-error.ts: `UpstreamTransportError`
 * (no answer: refused, reset), `UpstreamRefusal` (an answer other than 200) and
 * `UpstreamBadAnswer` (a 200 that is not what was asked for), both thrown by the caller,
 * and timeouts (the deadline's own reason, a DOMException).
 */
import { Pool, type Dispatcher } from 'undici';
import type { CircuitBreaker } from './circuit-breaker.js';
import { guardedCall } from './upstream-fetch.js';

/** More than any token response; a server that sends more is not answering a token request. */
const MAX_BODY = 1024 * 1024;

export interface UpstreamAnswer {
  status: number;
  contentType: string;
  body: Buffer;
}

/** No HTTP answer from Keycloak: the connection failed or broke. `cause` has the socket's error. */
export class UpstreamTransportError extends Error {
  override readonly name = 'UpstreamTransportError';
}

/** Keycloak answered 200, but not with what was asked for (not JSON, no access token). */
export class UpstreamBadAnswer extends Error {
  override readonly name = 'UpstreamBadAnswer';
}

/**
 * Keycloak answered, but not 200: its OAuth error (RFC 6749 §5.2) when the body is one,
 * otherwise only the status. translate-error.ts makes it one of our errors.
 */
export class UpstreamRefusal extends Error {
  override readonly name = 'UpstreamRefusal';

  constructor(
    readonly status: number,
    readonly error?: string,
    readonly error_description?: string,
  ) {
    super(`Keycloak answered ${status}${error ? ` ${error}` : ''}`);
  }

  static from(answer: UpstreamAnswer): UpstreamRefusal {
    if (answer.contentType.includes('json')) {
      try {
        const body = JSON.parse(answer.body.toString('utf8')) as { error?: unknown; error_description?: unknown };
        if (typeof body?.error === 'string') {
          return new UpstreamRefusal(answer.status, body.error, typeof body.error_description === 'string' ? body.error_description : undefined);
        }
      } catch {
        // Not JSON after all: the status alone.
      }
    }
    return new UpstreamRefusal(answer.status);
  }
}

const tooLarge = () => new UpstreamBadAnswer(`Keycloak sent a body over ${MAX_BODY} bytes`);

/**
 * The whole body. With a Content-Length within bounds (what Keycloak sends) in one piece,
 * through undici's own collector; otherwise chunk by chunk, stopped past MAX_BODY.
 */
async function readBody(answer: Dispatcher.ResponseData): Promise<Buffer> {
  const declared = Number(answer.headers['content-length'] ?? Number.NaN);
  if (declared > MAX_BODY) throw tooLarge();
  if (declared >= 0) return Buffer.from(await answer.body.arrayBuffer());
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of answer.body) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

export class KeepAliveClient {
  /** One pool per origin (scheme, host, port) this server's calls go to. */
  private readonly pools = new Map<string, Pool>();
  /** Each endpoint URL parsed once (a realm's few endpoints, from its metadata). */
  private readonly targets = new Map<string, { origin: string; path: string }>();

  constructor(
    private readonly breaker: CircuitBreaker,
    private readonly timeoutMs: number,
    /** Connections per origin; requests beyond wait in the pool's queue. */
    private readonly maxConnections: number,
  ) {}

  /** POSTs `form` to `url` and returns whatever status and body came back. */
  postForm(url: string, form: Record<string, string>): Promise<UpstreamAnswer> {
    const encoded = Buffer.from(new URLSearchParams(form).toString());
    return guardedCall(this.breaker, this.timeoutMs, (signal) => this.send(url, encoded, signal));
  }

  /** Closes the connections (the broker is stopping). */
  close(): void {
    for (const pool of this.pools.values()) void pool.destroy();
    this.pools.clear();
  }

  private poolFor(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: this.maxConnections, keepAliveTimeout: 30_000 });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  private targetOf(url: string): { origin: string; path: string } {
    let target = this.targets.get(url);
    if (!target) {
      const parsed = new URL(url);
      target = { origin: parsed.origin, path: parsed.pathname + parsed.search };
      if (this.targets.size >= 1000) this.targets.clear(); // endpoints of every realm: bounded all the same
      this.targets.set(url, target);
    }
    return target;
  }

  private async send(url: string, form: Buffer, signal: AbortSignal): Promise<UpstreamAnswer> {
    const target = this.targetOf(url);
    let answer: Dispatcher.ResponseData;
    try {
      answer = await this.poolFor(target.origin).request({
        path: target.path, method: 'POST', body: form, signal,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      });
    } catch (err) {
      throw signal.aborted ? signal.reason : new UpstreamTransportError(`Keycloak did not answer (${(err as { code?: string }).code ?? (err as Error).message})`, { cause: err });
    }
    let body: Buffer;
    try {
      body = await readBody(answer);
    } catch (err) {
      answer.body.destroy();
      if (signal.aborted) throw signal.reason;
      // An answer came (the server is up, for the breaker), just not one to use.
      if (err instanceof UpstreamBadAnswer) throw Object.assign(err, { response: { status: answer.statusCode } });
      throw new UpstreamTransportError(`Keycloak's answer broke off (${(err as Error).message})`, { cause: err });
    }
    return { status: answer.statusCode, contentType: String(answer.headers['content-type'] ?? ''), body };
  }
}
