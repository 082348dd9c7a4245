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
 * A call whose caller gave up (its deadline passed) keeps its slot until Keycloak begins its
 * answer, however long that takes (a body that trickles in after the head does not keep it:
 * the worker is done then): Keycloak's worker is busy that long whether the broker waits or not,
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
 *
 * Within a realm's share, each client address has a part (`perAddress`, half the share by
 * default): as many times LINE_PER_SLOT of its calls may wait, past which its calls are refused
 * and nobody else's; and when a slot frees, the first waiting call of an address holding less
 * than its part goes first. A free slot is anyone's (one busy client alone may use the whole
 * share, as the benchmark's does), so another address waits at most for the next answer.
 * Anyone with one valid token (to introspect without end) or one refresh token can send a
 * realm's calls as fast as Keycloak answers them, and these succeed, so no count of refusals
 * stops them: 300 parallel streams from one address filled acme's share and line, and its own
 * services' grants got 503 (attack helper, 2026-12-06). The address is the request's
 * (request-scope.ts); calls outside a request have none and only the realm's bound.
 */
import { BrokerError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';

/** Calls that may wait in a realm's line, per slot: bounded, as each holds a request open. */
export const LINE_PER_SLOT = 8;

/** One call's slot: released once (later calls do nothing). */
export interface Slot {
  release(): void;
  /**
   * The call's caller has had its timeout, and the call keeps the slot until Keycloak answers,
   * or until the server's hold limit (`holdLimitMs`), when `giveUp` ends the call.
   */
  hold(giveUp: () => void): void;
}

interface Waiter {
  who?: string;
  give(slot: Slot): void;
  timer: NodeJS.Timeout;
}

class Line {
  inFlight = 0;
  /** Of those, the calls kept past their callers' timeouts (Slot.hold). */
  kept = 0;
  readonly waiting: Waiter[] = [];
  /** Calls in flight, and waiting, per client address. */
  readonly held = new Map<string, number>();
  readonly queued = new Map<string, number>();

  constructor(readonly realm: string) {}
}

const add = (map: Map<string, number>, who: string | undefined, n: number) => {
  if (who === undefined) return;
  const next = (map.get(who) ?? 0) + n;
  if (next > 0) map.set(who, next);
  else map.delete(who);
};

export class RealmSlots {
  private readonly lines = new Map<string, Line>();
  /** A client address's part of a realm's share (calls in flight before its waiters yield to others'). */
  readonly perAddress: number;

  constructor(
    /** The server's name, for messages and metrics. */
    private readonly server: string,
    /** Calls in flight per realm; LINE_PER_SLOT times as many may wait. */
    readonly limit: number,
    private readonly metrics?: Metrics,
    perAddress?: number,
    /** How long a held call keeps its slot before it is given up; none: until Keycloak answers. */
    private readonly holdLimitMs?: number,
  ) {
    this.perAddress = Math.min(limit, perAddress ?? Math.max(1, Math.floor(limit / 2)));
  }

  /**
   * A slot for a call to `realm` from client address `who` (none: a call outside a request): at
   * once when one is free to it (no promise on that path), else after waiting in line until one
   * is, for up to `waitMs` (what the request's deadline leaves).
   */
  take(realm: string, waitMs: number, who?: string): Slot | Promise<Slot> {
    const line = this.lineOf(realm);
    if (line.inFlight < this.limit) return this.grant(line, who);
    const lineFull = line.waiting.length >= this.limit * LINE_PER_SLOT;
    if (lineFull || (who !== undefined && (line.queued.get(who) ?? 0) >= this.perAddress * LINE_PER_SLOT)) {
      this.metrics?.realmBusy.inc({ upstream: this.server, realm, outcome: 'refused' });
      const whose = lineFull ? '' : ' from this client address';
      throw new BrokerError('upstream_unavailable', `realm ${realm} has ${line.inFlight} calls in flight at server ${this.server}${whose} and ${line.waiting.length} waiting: refused`, { retryAfter: 1 });
    }
    return new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter = {
        who,
        give: (slot) => {
          clearTimeout(waiter.timer);
          resolve(slot);
        },
        timer: setTimeout(() => {
          line.waiting.splice(line.waiting.indexOf(waiter), 1);
          add(line.queued, who, -1);
          this.metrics?.realmBusy.inc({ upstream: this.server, realm, outcome: 'timed_out' });
          reject(new BrokerError('upstream_timeout', `realm ${realm}'s calls at server ${this.server} stayed busy until the request's deadline`));
          this.forgetIfIdle(line);
        }, waitMs),
      };
      line.waiting.push(waiter);
      add(line.queued, who, 1);
    });
  }

  /** Calls in flight for `realm` now (tests, metrics); from one client address when `who` is given. */
  inFlight(realm: string, who?: string): number {
    const line = this.lines.get(realm);
    return (who === undefined ? line?.inFlight : line?.held.get(who)) ?? 0;
  }

  /**
   * The realms every slot of which is kept by calls past their callers' timeouts: Keycloak (or a
   * proxy before it) answers none of their calls, and their callers get 504s.
   */
  heldRealms(): string[] {
    return [...this.lines.values()].filter((l) => l.kept >= this.limit).map((l) => l.realm);
  }

  /** Whether a waiter of `who` goes before those of addresses past their part. */
  private withinPart(line: Line, who: string | undefined): boolean {
    return who === undefined || (line.held.get(who) ?? 0) < this.perAddress;
  }

  private lineOf(realm: string): Line {
    let line = this.lines.get(realm);
    if (!line) {
      line = new Line(realm);
      this.lines.set(realm, line);
    }
    return line;
  }

  private grant(line: Line, who: string | undefined): Slot {
    line.inFlight++;
    add(line.held, who, 1);
    let released = false;
    let kept = false;
    let limit: NodeJS.Timeout | undefined;
    return {
      release: () => {
        if (released) return;
        released = true;
        line.inFlight--;
        add(line.held, who, -1);
        if (kept) {
          clearTimeout(limit);
          line.kept--;
          this.metrics?.realmHeld.dec({ upstream: this.server, realm: line.realm });
        }
        this.serveLine(line);
        this.forgetIfIdle(line);
      },
      hold: (giveUp) => {
        if (released || kept) return;
        kept = true;
        line.kept++;
        this.metrics?.realmHeld.inc({ upstream: this.server, realm: line.realm });
        if (this.holdLimitMs) limit = setTimeout(giveUp, this.holdLimitMs).unref();
      },
    };
  }

  /** Gives a free slot to the first waiter whose address holds less than its part, else to the first. */
  private serveLine(line: Line): void {
    while (line.waiting.length > 0 && line.inFlight < this.limit) {
      let i = line.waiting.findIndex((w) => this.withinPart(line, w.who));
      if (i < 0) i = 0;
      const [next] = line.waiting.splice(i, 1);
      add(line.queued, next!.who, -1);
      next!.give(this.grant(line, next!.who));
    }
  }

  /** Lines are per realm, and realms come and go: an idle line is forgotten. */
  private forgetIfIdle(line: Line): void {
    if (line.inFlight === 0 && line.waiting.length === 0 && this.lines.get(line.realm) === line) this.lines.delete(line.realm);
  }
}
