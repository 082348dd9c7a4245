/**
 * The hot path to one Keycloak server: form-encoded POSTs over a sized pool of keep-alive
 * connections (node:http's Agent), the whole body buffered and returned as it came.
 *
 * Why not `fetch`: the proxied grants are most of what the broker does, and global fetch
 * (undici under web streams) cost about twice the CPU of a plain node:http request per call
 * on this path; openid-client also sent the form as a streamed, chunked body. Discovery,
 * JWKS and the admin API (rare calls) keep using fetch through `guardedFetch`.
 *
 * Every call runs under the request's deadline and the server's circuit breaker
 * (`guardedCall`). Its failures, all read by translate-error.ts: `UpstreamTransportError`
 * (no answer: refused, reset), `UpstreamRefusal` (an answer other than 200) and
 * `UpstreamBadAnswer` (a 200 that is not what was asked for), both thrown by the caller,
 * and timeouts (the deadline's own reason, a
 * DOMException).
 */
import http from 'node:http';
import https from 'node:https';
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

export interface PoolOptions {
  /** Connections per server; requests beyond wait for one (node:http's queue). */
  maxSockets: number;
  /** Idle connections kept open for the next request. */
  maxFreeSockets: number;
}

export class KeepAliveClient {
  private readonly http: http.Agent;
  private readonly https: https.Agent;

  constructor(
    private readonly breaker: CircuitBreaker,
    private readonly timeoutMs: number,
    pool: PoolOptions,
  ) {
    // `scheduling: 'lifo'` reuses the most recent connection, so that idle ones time out
    // and close rather than all being kept barely alive.
    const options = { keepAlive: true, maxSockets: pool.maxSockets, maxFreeSockets: pool.maxFreeSockets, scheduling: 'lifo' as const };
    this.http = new http.Agent(options);
    this.https = new https.Agent(options);
  }

  /** POSTs `form` to `url` and returns whatever status and body came back. */
  postForm(url: string, form: Record<string, string>): Promise<UpstreamAnswer> {
    const body = Buffer.from(new URLSearchParams(form).toString());
    return guardedCall(this.breaker, this.timeoutMs, (signal) => this.send(url, body, signal));
  }

  /** Closes the idle connections (the broker is stopping). */
  close(): void {
    this.http.destroy();
    this.https.destroy();
  }

  private send(url: string, body: Buffer, signal: AbortSignal): Promise<UpstreamAnswer> {
    const secure = url.startsWith('https:');
    return new Promise((resolve, reject) => {
      const fail = (err: unknown) => reject(signal.aborted ? signal.reason : new UpstreamTransportError(`Keycloak did not answer (${(err as { code?: string }).code ?? (err as Error).message})`, { cause: err }));
      const req = (secure ? https : http).request(url, {
        method: 'POST',
        agent: secure ? this.https : this.http,
        signal,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': body.length,
          accept: 'application/json',
        },
      }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY) {
            res.destroy(new Error(`response body over ${MAX_BODY} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }));
        res.on('error', fail);
        res.on('aborted', () => fail(new Error('response aborted')));
      });
      req.on('error', fail);
      req.end(body);
    });
  }
}
