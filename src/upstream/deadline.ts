/**
 * One deadline per request. Every call to Keycloak made while serving a request shares
 * the request's deadline, so a request that calls Keycloak several times in a row (the
 * tenant list, then realm metadata, then the grant) answers within UPSTREAM_TIMEOUT_MS in
 * all, not that much per call.
 *
 * Kept in the request's scope (request-scope.ts), so that no signature between the route and
 * the connector has to pass it along. The deadline is a time; an AbortSignal (for fetch and
 * the admin client) and its timer are made only when a call asks for one, and the timer is
 * cleared when the request ends (`endScope`). The hot grants' pool sets a timer of its own
 * per call instead (keepalive-client.ts): an AbortController, its EventTarget listener in
 * undici and their garbage cost about a tenth of a proxied grant's CPU on Node 20.
 * Outside a request (start-up, the breaker's probes) each call gets its own timeout.
 */
import { currentScope } from '../request-scope.js';

/** `answer`'s value, or `late` if it has none within `ms` (the timer cleared either way). */
export function orAfter<T, L>(answer: Promise<T>, ms: number, late: L): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  const after = new Promise<L>((resolve) => { timer = setTimeout(() => resolve(late), Math.max(0, ms)); });
  return Promise.race([answer, after]).finally(() => clearTimeout(timer));
}

/** What a call that ran out of time fails with (translate-error.ts reads the name). */
export function deadlinePassed(): DOMException {
  return new DOMException('The request deadline passed', 'TimeoutError');
}

export class Deadline {
  private abort?: { controller: AbortController; timer: NodeJS.Timeout };

  /**
   * @param at when the calls must have answered (performance.now())
   * @param scoped a request's deadline, whose timer endScope clears; else a signal's timer is
   *   unref'd and left to fire (start-up and probe calls are few)
   */
  constructor(
    readonly at: number,
    private readonly scoped: boolean,
  ) {}

  /**
   * Whole milliseconds left, at least 0. Whole: Node keeps one timer list per duration, so
   * the calls' timers mostly share a few lists rather than each making its own.
   */
  left(): number {
    return Math.max(0, Math.ceil(this.at - performance.now()));
  }

  /** The signal's timer fires at this time or later, so the clock alone says it. */
  passed(): boolean {
    return performance.now() >= this.at;
  }

  /** An AbortSignal that fires at the deadline, made on first use. */
  signal(): AbortSignal {
    if (!this.abort) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(deadlinePassed()), this.left());
      if (!this.scoped) timer.unref();
      this.abort = { controller, timer };
    }
    return this.abort.controller.signal;
  }

  /** Clears the signal's timer (the request ended). */
  end(): void {
    if (this.abort) clearTimeout(this.abort.timer);
  }
}

/** Starts the current request's deadline, `ms` from now (its body is read); request-scope.ts ends it. */
export function startDeadline(ms: number): void {
  const scope = currentScope();
  if (scope) scope.deadline = new Deadline(performance.now() + ms, true);
}

/** The deadline an upstream call must honour: the request's, else `fallbackMs` from now. */
export function currentDeadline(fallbackMs: number): Deadline {
  return currentScope()?.deadline ?? new Deadline(performance.now() + fallbackMs, false);
}

/** The signal a fetch-based call must honour (see currentDeadline). */
export function deadlineSignal(fallbackMs: number): AbortSignal {
  return currentDeadline(fallbackMs).signal();
}
