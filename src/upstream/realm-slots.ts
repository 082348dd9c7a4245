/**
 * How much of one Keycloak server one realm may keep busy through the broker (a bulkhead per
 * realm): at most `limit` of the realm's calls in flight at once; the next `LINE_PER_SLOT × limit`
 * wait in line, each within its request's deadline (504 when it passes); past that a call is
 * refused at once (503, Retry-After). The line is long so that a burst of quick calls (someone
 * sending many of a realm's grants, wrong secrets and all) waits its turn rather than being
 * refused beside them: the line moves as fast as Keycloak answers, and only stalled calls make
 * their own realm's callers wait out their deadlines.
 *
 * Why: a realm's admin decides how long their realm's calls take (a user federation whose LDAP
 * never answers), and each such call holds one of the server's workers, which every realm of
 * the server shares. Keycloak 26 on this project's machine stopped serving every realm with
 * about 80 such calls at once, and served the others unhurt with 40 (a measurement of
 * 2026-12-06). With the broker's answers bounded per realm, one realm's stalled calls through
 * the broker can take `limit` workers, never all of them. The default keeps three stalling
 * realms under Keycloak's smallest default executor pool (50 threads).
 *
 * A call whose caller gave up (its deadline passed) keeps its slot until Keycloak answers it,
 * however long that takes: Keycloak's worker is busy that long whether the broker waits or not,
 * and a slot freed any earlier lets the realm keep more workers busy than its share (an attack
 * of 2026-12-06 gave its LDAP a longer timeout than the 60 s the broker then waited, and had
 * Keycloak's pool run out in under three minutes). The connection ends it too (Keycloak
 * restarted), and so does the breaker finding the server down (every such call is given up:
 * `giveUpHeld`). The keep-alive client and the slotted fetch hold their slots so
 * (keepalive-client.ts, slotted-fetch.ts), on connections without undici's 300 s wait for an
 * answer's headers.
 *
 * Waiting in line, or being refused, says nothing about the server: neither touches its
 * circuit breaker (the slot is taken before `guardedCall`).
 */
import { BrokerError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';

/** Calls that may wait in a realm's line, per slot: bounded, as each holds a request open. */
export const LINE_PER_SLOT = 8;

/** One call's slot: released once (later calls do nothing). */
export interface Slot {
  release(): void;
}

interface Waiter {
  give(slot: Slot): void;
  timer: NodeJS.Timeout;
}

class Line {
  inFlight = 0;
  readonly waiting: Waiter[] = [];

  constructor(readonly realm: string) {}
}

export class RealmSlots {
  private readonly lines = new Map<string, Line>();

  constructor(
    /** The server's name, for messages and metrics. */
    private readonly server: string,
    /** Calls in flight per realm; LINE_PER_SLOT times as many may wait. */
    readonly limit: number,
    private readonly metrics?: Metrics,
  ) {}

  /**
   * A slot for a call to `realm`: at once when one is free (no promise on that path), else
   * after waiting in line until one is, for up to `waitMs` (what the request's deadline leaves).
   */
  take(realm: string, waitMs: number): Slot | Promise<Slot> {
    const line = this.lineOf(realm);
    if (line.inFlight < this.limit) return this.grant(line);
    if (line.waiting.length >= this.limit * LINE_PER_SLOT) {
      this.metrics?.realmBusy.inc({ upstream: this.server, realm, outcome: 'refused' });
      throw new BrokerError('upstream_unavailable', `realm ${realm} has ${line.inFlight} calls in flight at server ${this.server} and ${line.waiting.length} waiting: refused`, { retryAfter: 1 });
    }
    return new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter = {
        give: (slot) => {
          clearTimeout(waiter.timer);
          resolve(slot);
        },
        timer: setTimeout(() => {
          line.waiting.splice(line.waiting.indexOf(waiter), 1);
          this.metrics?.realmBusy.inc({ upstream: this.server, realm, outcome: 'timed_out' });
          reject(new BrokerError('upstream_timeout', `realm ${realm}'s calls at server ${this.server} stayed busy until the request's deadline`));
        }, waitMs),
      };
      line.waiting.push(waiter);
    });
  }

  /** Calls in flight for `realm` now (tests, metrics). */
  inFlight(realm: string): number {
    return this.lines.get(realm)?.inFlight ?? 0;
  }

  private lineOf(realm: string): Line {
    let line = this.lines.get(realm);
    if (!line) {
      line = new Line(realm);
      this.lines.set(realm, line);
    }
    return line;
  }

  private grant(line: Line): Slot {
    line.inFlight++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        line.inFlight--;
        const next = line.waiting.shift();
        if (next) next.give(this.grant(line));
        // Lines are per realm, and realms come and go: an idle line is forgotten.
        else if (line.inFlight === 0) this.lines.delete(line.realm);
      },
    };
  }
}
