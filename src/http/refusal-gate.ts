/**
 * Refusals per client address, on the routes anyone can call that make Keycloak work: client
 * credentials, refresh and code exchanges, introspection, and every client authentication.
 * A caller that keeps being refused (wrong secrets, made-up clients or tokens) gets 429 before
 * its next request takes any of its realm's share of Keycloak (realm-slots.ts); one who is
 * answered is not slowed at all. An attack of 2026-12-06 sent 300 parallel streams of wrong
 * secrets and made-up tokens to acme's realm: half of acme's own services' grants got 503.
 *
 * How it counts, with rate-limiter-flexible underneath (rate-limit.ts):
 * - an address with no refusal in the window is not counted at all (no store call: these are
 *   the hot proxied paths), while it has fewer than `UNCOUNTED_MAX` requests in flight here;
 *   its first refusal marks it, in this process, for the window;
 * - a marked address, and the requests of an address beyond its uncounted ones in flight, are
 *   counted first, then decided, each atomically in the store (so a parallel burst cannot pass
 *   together, on one replica or on several), and an answered request gives its point back;
 * - so what gets through from one address is the allowance per window, plus at most its
 *   uncounted requests in flight on each replica when its first refusal came back. Without that
 *   bound, a burst had all it could put in flight before its first answer (its realm's share and
 *   line, on every replica and realm: 480 wrong secrets a minute for 60, attack helper round 24);
 * - a request over the allowance while its address has others in flight here waits for one of
 *   them to land, for up to `WAIT_MS`, and is counted again then (an answered one gives its point
 *   back, a refusal keeps it), rather than being refused at once; and a try over the allowance is
 *   not left counted (the store counts those too). A service's burst of good grants, or a Keycloak
 *   pause of tens of milliseconds under a steady 1,000 introspections a second, had the excess
 *   answered 429 (the benchmark's paced runs, 2026-12-07: 695 to 1,880 of about 12,000); and a
 *   service with a few refusals among many good calls (an introspected token a user had signed
 *   out) had its 429s counted, and kept itself refused for the window by trying again (attack
 *   round 53: 23 of 44,462 answered in 20 s). What reaches Keycloak is what was counted within the
 *   allowance, as before: a waiting request goes on only with a point of its own.
 * What counts as a refusal is `REFUSALS` below: the answers a wrong secret, a made-up client or
 * token, or someone else's code get. A device's `authorization_pending` and `slow_down` do not
 * count, nor Keycloak unreachable (`upstream_*`), nor input the broker refused itself (422).
 */
import type Koa from 'koa';
import { LRUCache } from 'lru-cache';
import { BrokerError, type ErrorCode } from '../errors.js';
import { clientAddress } from './client-address.js';
import type { Counted, Limiter } from './rate-limit.js';

const REFUSALS = new Set<ErrorCode>([
  'invalid_client', 'invalid_grant', 'unauthorized_client', 'invalid_scope', 'invalid_token', 'invalid_target',
  'invalid_request', 'unsupported_grant_type', 'tenant_not_found', 'access_denied', 'expired_token',
]);

const isRefusal = (err: unknown): boolean => err instanceof BrokerError && REFUSALS.has(err.code);

/** Addresses marked at once, at most (an attacker with more only has more of them counted late). */
const MARKED_MAX = 50_000;
/**
 * Requests of one unmarked address in flight here uncounted, at most (and never over half its
 * allowance): a service's parallel grants up to that many cost no store call; past it they are
 * counted as a marked address's are, and given back when answered.
 */
const UNCOUNTED_MAX = 16;
/** How long a request over the allowance waits for a point its address's requests in flight hold. */
const WAIT_MS = 2000;

export class RefusalGate {
  private readonly marked: LRUCache<string, true>;
  /** Uncounted requests in flight per address (an entry only while there are some). */
  private readonly uncounted = new Map<string, number>();
  /** Every request in flight here per address, and the requests waiting for one of them to land. */
  private readonly inFlight = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();
  private readonly uncountedMax: number;

  constructor(private readonly limiter: Limiter) {
    this.marked = new LRUCache({ max: MARKED_MAX, ttl: limiter.rule.windowSeconds * 1000 });
    this.uncountedMax = Math.max(1, Math.min(UNCOUNTED_MAX, Math.floor(limiter.rule.points / 2)));
  }

  /**
   * Runs `call` for a request from `address`; `refused` says which answers count as refusals
   * besides the errors of `REFUSALS` (an introspection's `active: false`).
   */
  async run<T>(address: string, call: () => Promise<T>, refused?: (answer: T) => boolean): Promise<T> {
    const uncounted = this.uncounted.get(address) ?? 0;
    const counted = this.marked.has(address) || uncounted >= this.uncountedMax ? await this.admit(address) : undefined;
    if (!counted) this.uncounted.set(address, uncounted + 1);
    this.inFlight.set(address, (this.inFlight.get(address) ?? 0) + 1);
    let answer: T;
    try {
      answer = await call();
    } catch (err) {
      this.landed(address, counted);
      await this.settle(address, counted, isRefusal(err));
      this.finished(address);
      throw err;
    }
    this.landed(address, counted);
    await this.settle(address, counted, refused?.(answer) ?? false);
    this.finished(address);
    return answer;
  }

  /**
   * Counts a request in the store; past the allowance, while its address has others in flight
   * here, it waits for one of them to land, then is counted again.
   */
  private async admit(address: string): Promise<Counted> {
    const until = Date.now() + WAIT_MS;
    for (;;) {
      try {
        // A try over the allowance reaches nothing: not left counted, whether it waits or not.
        return await this.limiter.consume(address, { uncount: true });
      } catch (err) {
        const mayWait = err instanceof BrokerError && err.code === 'rate_limited' && (this.inFlight.get(address) ?? 0) > 0;
        if (!mayWait || !(await this.oneLands(address, until - Date.now()))) throw err;
      }
    }
  }

  /** Resolves true when a request of `address` in flight here lands, false after `ms`. */
  private oneLands(address: string, ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const queue = this.waiting.get(address) ?? [];
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const at = queue.indexOf(wake);
        if (at >= 0) queue.splice(at, 1);
        if (!queue.length && this.waiting.get(address) === queue) this.waiting.delete(address);
        resolve(false);
      }, ms);
      queue.push(wake);
      this.waiting.set(address, queue);
    });
  }

  /** A request of `address` is done: the first of its waiting requests tries again. */
  private finished(address: string): void {
    const left = (this.inFlight.get(address) ?? 1) - 1;
    if (left > 0) this.inFlight.set(address, left);
    else this.inFlight.delete(address);
    const queue = this.waiting.get(address);
    const next = queue?.shift();
    if (queue && !queue.length) this.waiting.delete(address);
    next?.();
  }

  private landed(address: string, counted: Counted | undefined): void {
    if (counted) return;
    const left = (this.uncounted.get(address) ?? 1) - 1;
    if (left > 0) this.uncounted.set(address, left);
    else this.uncounted.delete(address);
  }

  private async settle(address: string, counted: Counted | undefined, wasRefused: boolean): Promise<void> {
    if (wasRefused) {
      this.marked.set(address, true);
      // Counted after the fact: the address's next request is decided with it.
      if (!counted) await this.limiter.consume(address).catch(() => {});
    } else if (counted) {
      await this.limiter.reward(address, counted).catch(() => {});
    }
  }
}

/**
 * The gate around the rest of a Koa route (client authentication included); an answer the route
 * marks `ctx.state.refused` counts as a refusal too.
 */
export function refusalsCounted(gate: RefusalGate): Koa.Middleware {
  return function refusalsCounted(ctx, next) {
    return gate.run(clientAddress(ctx), next, () => ctx.state.refused === true);
  };
}
