/**
 * The fetch for calls whose time is their realm's to spend: Keycloak serves them by loading the
 * realm's users, through whatever user federation the realm's admin set up (user searches,
 * userinfo, the code exchange and token exchange). Each takes one of its realm's slots
 * (realm-slots.ts) and runs under the request's deadline and the server's breaker; a call whose
 * caller has had its timeout keeps its slot until Keycloak answers, as the keep-alive client's
 * calls do. The hot grants have their own, cheaper, form of the same (keepalive-client.ts).
 * undici's own fetch, with an agent of this server's that has no headers timeout (its 300 s
 * would free a slot while Keycloak's worker is still busy); openid-client takes its Response.
 *
 * A plain timer and controller per call, not `AbortSignal.timeout`: on Node 20 that keeps its
 * timer, and the request's context with it, until the signal is collected (README "Faults").
 */
import type { CircuitBreaker } from './circuit-breaker.js';
import { currentDeadline, deadlinePassed, type Deadline } from './deadline.js';
import { fetch as undiciFetch, type RequestInit as UndiciInit } from 'undici';
import type { RealmSlots, Slot } from './realm-slots.js';
import { cappedAgent, FETCH_OPTIONS, slottedCall } from './upstream-fetch.js';

export interface SlottedFetchOptions {
  /** At most this much of the request's deadline, the wait for a slot included. */
  budgetMs?: number;
  /** Whether no answer in time counts against the server (upstream-fetch.ts). */
  timeoutsCount?: boolean;
}

export class SlottedFetch {
  /** Calls whose callers have had their timeouts, kept until Keycloak answers. */
  private readonly held = new Set<AbortController>();
  private readonly agent = cappedAgent({ headersTimeout: 0 });

  constructor(
    private readonly breaker: CircuitBreaker,
    private readonly timeoutMs: number,
    private readonly slots: RealmSlots,
  ) {}

  /** `fetch` for a call of `realm` (the caller's own signal gives way to the deadline, as in upstream-fetch.ts). */
  async fetch(realm: string, input: string | URL | Request, init: RequestInit = {}, options: SlottedFetchOptions = {}): Promise<Response> {
    const deadline = currentDeadline(this.timeoutMs);
    const until = performance.now() + Math.min(deadline.left(), options.budgetMs ?? Infinity);
    return slottedCall(this.slots, realm, until - performance.now(), this.breaker, this.timeoutMs,
      (_deadline, slot) => this.heldFetch(input, init, slot, until - performance.now(), deadline), { timeoutsCount: options.timeoutsCount });
  }

  /** A fetch bound to `realm`, for openid-client's customFetch and the like. */
  of(realm: string): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
    return (input, init) => this.fetch(realm, input, init);
  }

  /** Closes the connections (the broker is stopping). */
  close(): void {
    void this.agent.destroy().catch(() => {});
  }

  /** Gives up the calls kept past their callers' timeouts (the server was found down; see keepalive-client.ts). */
  giveUpHeld(): void {
    for (const stop of this.held) stop.abort(new Error('given up: the server was found down'));
  }

  /**
   * The call, answered within `waitMs` (else a timeout). `slot` is released when Keycloak
   * answers; the body is then the caller's to read within the request's deadline (its signal,
   * whose timer ends with the request: a timer of ours would keep the request's context alive
   * until it fired).
   */
  private heldFetch(input: string | URL | Request, init: RequestInit, slot: Slot, waitMs: number, deadline: Deadline): Promise<Response> {
    return new Promise((resolve, reject) => {
      const stop = new AbortController();
      let gaveUp = false;
      const timer = setTimeout(() => {
        gaveUp = true;
        reject(deadlinePassed());
        this.held.add(stop);
        slot.hold(() => stop.abort(new Error('given up: no answer within the hold limit (holdLimitMs)')));
      }, Math.max(1, waitMs)).unref();
      const ended = () => {
        slot.release();
        this.held.delete(stop);
      };
      // A URL: every caller passes a string (openid-client, userinfo, the user search).
      const sent = undiciFetch(input as string, { ...(init as UndiciInit), ...FETCH_OPTIONS, signal: stop.signal, dispatcher: this.agent }) as unknown as Promise<Response>;
      sent.then((res) => {
        clearTimeout(timer);
        ended();
        // No one will read an answer that came after its caller's timeout: its connection is freed.
        if (gaveUp) return void res.body?.cancel().catch(() => {});
        const signal = deadline.signal();
        if (signal.aborted) stop.abort(signal.reason);
        else signal.addEventListener('abort', () => stop.abort(signal.reason), { once: true });
        resolve(res);
      }, (err: unknown) => {
        clearTimeout(timer);
        ended();
        reject(err);
      });
    });
  }
}
