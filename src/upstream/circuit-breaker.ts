/**
 * A circuit breaker for one Keycloak server. After `failureThreshold` (3) transport failures
 * in a row (refused, reset, 502/503/504, or no answer in time when the server does not answer
 * its own probe either: `timedOut`) the upstream is known down:
 * every call fails at once with 503 and Retry-After instead of waiting for its timeout.
 * While open, a probe (one small request of its own, with a short timeout) is sent every
 * `probeIntervalMs`; the first probe that gets an answer closes the breaker, so the broker
 * recovers by itself within about one interval of Keycloak's return, with or without
 * traffic, and no caller's request is spent on finding out.
 *
 * Transitions are reported once each ("down", with the reason; "back", with how long and
 * how many calls failed meanwhile); the calls that fail in between are only counted.
 *
 * Our own rather than opossum or cockatiel: both find recovery by letting a caller's
 * request through after a cool-down (it then waits the whole timeout when Keycloak is
 * frozen), and what counts as a failure here is a Keycloak-specific judgment anyway.
 */
import { AsyncResource } from 'node:async_hooks';
import { BrokerError } from '../errors.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerChange {
  upstream: string;
  state: 'down' | 'back';
  /** down: why (the failure that opened it). */
  reason?: string;
  /** back: how long it was open, and the calls that failed from the first failure on. */
  downMs?: number;
  failures?: number;
}

export interface BreakerOptions {
  failureThreshold?: number;
  probeIntervalMs?: number;
  probeTimeoutMs?: number;
  /** Resolves when the upstream answers at all; rejects when it does not. */
  probe: (signal: AbortSignal) => Promise<void>;
  onChange?: (change: BreakerChange) => void;
}

export interface BreakerSnapshot {
  state: BreakerState;
  /** Calls failed since start (transport failures and calls refused while open). */
  failures: number;
  /** While open: since when, and the failures of this outage so far. */
  openSince?: string;
  outageFailures?: number;
}

export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private consecutive = 0;
  private totalFailures = 0;
  private outageFailures = 0;
  private openedAt = 0;
  private timer?: NodeJS.Timeout;
  /** Counts probes, so that a probe overtaken by events (a late answer closed the breaker) is ignored. */
  private probes = 0;
  private stopped = false;
  /** Timeouts waiting for the server's own answer (timedOut), and whether it is being asked. */
  private readonly suspicions: string[] = [];
  private checking = false;
  private readonly failureThreshold: number;
  private readonly probeIntervalMs: number;
  private readonly probeTimeoutMs: number;
  /**
   * The async context the breaker was built in (start-up). Probes run in it, not in the
   * request that happened to open the breaker: a timer keeps the async context it was
   * created in, and a request's context holds the whole request (ctx, req, res).
   */
  private readonly home = new AsyncResource('CircuitBreaker');

  constructor(readonly name: string, private readonly options: BreakerOptions) {
    this.failureThreshold = options.failureThreshold ?? 3;
    this.probeIntervalMs = options.probeIntervalMs ?? 500;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 1000;
  }

  /** Throws at once (503) while the upstream is known down. */
  admit(): void {
    if (this.state === 'closed') return;
    this.countFailure();
    throw new BrokerError('upstream_unavailable', 'Keycloak is unavailable', {
      retryAfter: Math.max(1, Math.ceil(this.probeIntervalMs / 1000)),
    });
  }

  /** Keycloak answered (whatever it said): it is up. */
  succeeded(): void {
    this.consecutive = 0;
    // A call from before the breaker opened got its answer after all (a frozen Keycloak resumed).
    if (this.state !== 'closed') this.close();
    else this.outageFailures = 0;
  }

  /**
   * A call got no answer in time. That says the server is slow, or only the realm the call was
   * for: a token, userinfo or search call waits on the realm's user federation, which its admin
   * sets up (an LDAP server of theirs that never answers). One realm's slowness must not take
   * every realm of the server down (attack of 2026-12-06: a realm admin's stalling LDAP opened
   * the breaker, and while it was open another tenant's users could not be found), so the
   * server is asked itself first (the probe, shared by the timeouts meanwhile): each timeout
   * counts as a failure only if the server does not answer it either.
   */
  timedOut(reason: string): void {
    this.countFailure();
    this.suspicions.push(reason);
    if (this.checking) return;
    this.checking = true;
    this.home.runInAsyncScope(() => {
      this.options.probe(AbortSignal.timeout(this.probeTimeoutMs)).then(() => true, () => false).then((up) => {
        const reasons = this.suspicions.splice(0);
        this.checking = false;
        if (up) return;
        for (const r of reasons) this.fail(r);
      });
    });
  }

  /** Keycloak could not be reached or did not answer in time. */
  failed(reason: string): void {
    this.countFailure();
    this.fail(reason);
  }

  private fail(reason: string): void {
    if (this.state !== 'closed') return;
    this.consecutive++;
    if (this.consecutive >= this.failureThreshold) this.open(reason);
  }

  private countFailure(): void {
    this.totalFailures++;
    this.outageFailures++;
  }

  private open(reason: string): void {
    this.state = 'open';
    this.openedAt = Date.now();
    this.options.onChange?.({ upstream: this.name, state: 'down', reason });
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.stopped) return;
    // unref: a broker that is shutting down does not wait for its probes.
    this.timer = this.home.runInAsyncScope(() => setTimeout(() => { void this.probe(); }, this.probeIntervalMs).unref());
  }

  private async probe(): Promise<void> {
    const probe = ++this.probes;
    this.state = 'half-open';
    let up = true;
    try {
      await this.options.probe(AbortSignal.timeout(this.probeTimeoutMs));
    } catch {
      up = false;
    }
    if (probe !== this.probes || this.state !== 'half-open') return;
    if (up) {
      this.close();
    } else {
      this.state = 'open';
      this.scheduleProbe();
    }
  }

  private close(): void {
    clearTimeout(this.timer);
    this.probes++; // a probe still in flight has nothing left to decide
    const change: BreakerChange = { upstream: this.name, state: 'back', downMs: Date.now() - this.openedAt, failures: this.outageFailures };
    this.state = 'closed';
    this.consecutive = 0;
    this.outageFailures = 0;
    this.options.onChange?.(change);
  }

  snapshot(): BreakerSnapshot {
    return {
      state: this.state,
      failures: this.totalFailures,
      ...(this.state !== 'closed' ? { openSince: new Date(this.openedAt).toISOString(), outageFailures: this.outageFailures } : {}),
    };
  }

  /** Stops probing (a broker being closed). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
