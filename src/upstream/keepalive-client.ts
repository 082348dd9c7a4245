/**
 * The hot path to one Keycloak server: form-encoded POSTs over a sized pool of keep-alive
 * connections (undici's Pool, one per origin), the whole body buffered and returned as it came.
 *
 * Why not `fetch`: the proxied grants are most of what the broker does, and global fetch
 * (undici under web streams) cost about three times the CPU of undici's `request` per call
 * on this path (node:http's client, tried first, about one and a half); openid-client also
 * sent the form as a streamed, chunked body. Discovery, JWKS and the admin API (rare calls)
 * keep using fetch through `guardedFetch`. The calls go through undici's dispatcher API with a
 * handler that collects the answer (`Collect`), and each has a plain timer at the request's
 * deadline: `request()` added an AbortSignal with its listener and a Readable body per call,
 * about a tenth of a proxied grant's CPU on Node 20 (an A/B at a fixed rate, by hand).
 *
 * Every call takes one of its realm's slots (realm-slots.ts: a call whose deadline passed keeps
 * it until Keycloak answers) and runs under the request's deadline and the server's circuit
 * breaker (`guardedCall`). Its failures, all read by translate-error.ts: `UpstreamTransportError`
 * (no answer: refused, reset), `UpstreamRefusal` (an answer other than 200) and
 * `UpstreamBadAnswer` (a 200 that is not what was asked for), both thrown by the caller,
 * and timeouts (the deadline's own reason, a DOMException).
 */
import { Pool, type Dispatcher } from 'undici';
import type { CircuitBreaker } from './circuit-breaker.js';
import { currentDeadline, deadlinePassed, type Deadline } from './deadline.js';
import type { RealmSlots, Slot } from './realm-slots.js';
import { slottedCall } from './upstream-fetch.js';

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
const answeredLate = () => new UpstreamTransportError('Keycloak answered after its caller gave up');

/**
 * One call through undici's dispatcher API: the answer collected in memory (refused past
 * MAX_BODY), settled once, and cut short by `abort` (the call's timer). Lighter than
 * `request()`, which puts an AbortSignal listener and a Readable stream on every call.
 */
class Collect implements Dispatcher.DispatchHandler {
  private controller?: Dispatcher.DispatchController;
  private status = 0;
  private contentType = '';
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private settled = false;
  /** Why we cut the call short (the deadline, a body too large), when we did. */
  reason?: Error;
  /** Its caller gave up (the deadline), and the call is kept for its realm's slot. */
  held = false;

  constructor(
    private readonly resolve: (answer: UpstreamAnswer) => void,
    /** `status`: the answer's, when its status line came before the failure (else 0). */
    private readonly reject: (err: unknown, status: number) => void,
  ) {}

  abort(reason: Error): void {
    this.reason ??= reason;
    if (this.controller) this.controller.abort(reason);
    else this.fail(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.reason) controller.abort(this.reason);
  }

  /** Keycloak has begun its answer: its worker is done with the call, whatever the body does. */
  get answered(): boolean {
    return this.status !== 0;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.status = statusCode;
    // Nobody waits for a held call's answer, and the slot was kept only while Keycloak's worker
    // was busy with it: that ends here, not when the last byte of the body comes.
    if (this.held) return this.abort(answeredLate());
    this.contentType = String(headers['content-type'] ?? '');
    if (Number(headers['content-length'] ?? 0) > MAX_BODY) this.abort(tooLarge());
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    this.size += chunk.length;
    if (this.size > MAX_BODY) return this.abort(tooLarge());
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.settled = true;
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.resolve({ status: this.status, contentType: this.contentType, body });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.fail(err);
  }

  private fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(this.reason ?? err, this.status);
  }
}

export class KeepAliveClient {
  /** One pool per origin (scheme, host, port) this server's calls go to. */
  private readonly pools = new Map<string, Pool>();
  /** Each endpoint URL parsed once (a realm's few endpoints, from its metadata). */
  private readonly targets = new Map<string, { origin: string; path: string }>();
  /** Calls whose caller gave up (the deadline), kept until Keycloak answers for their realm's slot. */
  private readonly held = new Set<Collect>();

  constructor(
    private readonly breaker: CircuitBreaker,
    private readonly timeoutMs: number,
    /** Connections per origin; requests beyond wait in the pool's queue. */
    private readonly maxConnections: number,
    /** Each realm's share of the server (realm-slots.ts). */
    private readonly slots: RealmSlots,
  ) {}

  /**
   * POSTs `form` (encoded already) to `url`, an endpoint of `realm`, and returns whatever status
   * and body came back. The call takes one of the realm's slots first (realm-slots.ts).
   */
  postForm(url: string, form: string, realm: string): Promise<UpstreamAnswer> {
    const encoded = Buffer.from(form);
    return slottedCall(this.slots, realm, currentDeadline(this.timeoutMs).left(), this.breaker, this.timeoutMs,
      (deadline, slot) => this.send(url, encoded, deadline, slot));
  }

  /**
   * Gives up the calls kept past their callers' deadlines (the breaker found the server down:
   * their connections may never answer, and their realms' slots would stay taken meanwhile).
   */
  giveUpHeld(): void {
    for (const call of this.held) call.abort(new UpstreamTransportError('given up: the server was found down'));
  }

  /** Closes the connections (the broker is stopping). */
  close(): void {
    for (const pool of this.pools.values()) void pool.destroy();
    this.pools.clear();
  }

  private poolFor(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      // No headers timeout: a call is answered within its deadline or held for its realm's slot
      // until Keycloak answers (realm-slots.ts); undici's 300 s would free the slot while
      // Keycloak's worker is still busy.
      pool = new Pool(origin, { connections: this.maxConnections, keepAliveTimeout: 30_000, headersTimeout: 0 });
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

  /** One call, which releases `slot` when it ends: when Keycloak answers, not at the deadline. */
  private send(url: string, form: Buffer, deadline: Deadline, slot: Slot): Promise<UpstreamAnswer> {
    const target = this.targetOf(url);
    return new Promise((resolve, reject) => {
      const ended = () => {
        clearTimeout(timer);
        slot.release();
        this.held.delete(call);
      };
      const call = new Collect((answer) => {
        ended();
        resolve(answer);
      }, (err, status) => {
        ended();
        if (err instanceof UpstreamBadAnswer) {
          // An answer came (the server is up, for the breaker), just not one to use.
          reject(Object.assign(err, { response: { status } }));
        } else if (err === call.reason) {
          reject(err); // the deadline's own reason (the caller has it already), a body too large
        } else {
          const why = (err as { code?: string }).code ?? (err as Error).message;
          reject(new UpstreamTransportError(status ? `Keycloak's answer broke off (${why})` : `Keycloak did not answer (${why})`, { cause: err }));
        }
      });
      // This call's own timer, at the request's deadline: cheaper than a signal (deadline.ts).
      // The caller's answer is a timeout then; the call itself goes on, holding its realm's
      // slot, until Keycloak begins its answer (realm-slots.ts). One begun already (a body
      // trickling in after its head) is cut at once: Keycloak's worker is done with it, and
      // a byte a second would otherwise hold the slot for as long as the sender liked
      // (attack helper round 30b: a realm's every slot, for hours).
      const timer = setTimeout(() => {
        reject(deadlinePassed());
        if (call.answered) return call.abort(answeredLate());
        call.held = true;
        this.held.add(call);
        slot.hold(() => call.abort(new UpstreamTransportError('given up: no answer within the hold limit (holdLimitMs)')));
      }, deadline.left());
      try {
        this.poolFor(target.origin).dispatch({
          path: target.path, method: 'POST', body: form,
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        }, call);
      } catch (err) {
        // The pool refused the call outright: no answer, and no handler call will come.
        ended();
        reject(new UpstreamTransportError(`Keycloak was not called (${(err as Error).message})`, { cause: err }));
      }
    });
  }
}
