/**
 * How upstream failures are logged. An outage fails thousands of requests a second, each
 * for the same reason: one error line per request (22,669 lines in 23 s, measured) drowns
 * the log and costs the broker CPU when it can least spare it. So:
 *
 * - the upstream's state changes are logged once each, by its circuit breaker:
 *   "upstream X down (reason)" and "upstream X back", with how long and how many failed;
 * - requests that fail because a dependency failed (Keycloak, Redis) log one sample line
 *   per code per window, with the cause and request id, and count the rest (`suppressed`
 *   in the next sample line);
 * - every other 5xx (a bug) still logs its own error line.
 */
import type { BrokerError } from '../errors.js';
import { LogSampler, suppressedFields } from './log-sampler.js';
import type { Logger } from './logger.js';

/** A circuit breaker's transition (upstream/circuit-breaker.ts's BreakerChange). */
export interface UpstreamChange {
  upstream: string;
  state: 'down' | 'back';
  reason?: string;
  downMs?: number;
  failures?: number;
}

export function logUpstreamChange(log: Logger): (change: UpstreamChange) => void {
  return (c) => {
    if (c.state === 'down') log.error(`upstream ${c.upstream} down (${c.reason})`, { upstream: c.upstream, reason: c.reason });
    else log.warn(`upstream ${c.upstream} back`, { upstream: c.upstream, downMs: c.downMs, failures: c.failures });
  };
}

export class FailureLog {
  // One window per code: the codes are a closed set.
  private readonly sampler: LogSampler;

  constructor(private readonly log: Logger, windowMs = 10_000, now = Date.now) {
    this.sampler = new LogSampler(windowMs, now);
  }

  /** A request failed with a 5xx: `err` is what it became, `thrown` what was thrown. */
  serverError(err: BrokerError, thrown: unknown): void {
    if (!err.isUpstreamFailure) {
      this.log.error(err.message, { code: err.code, status: err.status, err: thrown });
      return;
    }
    const said = this.sampler.take(err.code);
    if (said) this.log.warn(err.message, { code: err.code, status: err.status, err: thrown, ...suppressedFields(said.suppressed) });
  }
}
