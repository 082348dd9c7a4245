/**
 * One log line per reason per window, the rest counted and told in the next line. A
 * dependency that is down fails every request, poll and refresh for the same reason: a line
 * each drowns the log when it matters most (a Redis outage wrote a warn line per request and
 * poll: 80 in 3 s from two replicas, test/resilience).
 */
import type { Logger } from './logger.js';

export class LogSampler {
  private readonly windows = new Map<string, { start: number; suppressed: number }>();

  /** Reasons must be a closed set (codes, fixed messages): this map keeps one entry each. */
  constructor(private readonly windowMs = 10_000, private readonly now = Date.now) {}

  /** Whether to log `reason` now, and how many times it went unlogged before; undefined: count it only. */
  take(reason: string): { suppressed: number } | undefined {
    const now = this.now();
    const w = this.windows.get(reason);
    if (w && now - w.start < this.windowMs) {
      w.suppressed++;
      return undefined;
    }
    this.windows.set(reason, { start: now, suppressed: 0 });
    return { suppressed: w?.suppressed ?? 0 };
  }
}

/** What a sampled line adds: the count of its kind left out since the last one, when any. */
export function suppressedFields(suppressed: number): Record<string, unknown> {
  return suppressed ? { suppressed, note: `${suppressed} more like it since the last line` } : {};
}

/** An error callback that warns `message` (a fixed sentence) once per window. */
export function sampledWarning(log: Logger, message: string, sampler = new LogSampler()): (err: unknown) => void {
  return (err) => {
    const said = sampler.take(message);
    if (said) log.warn(message, { err, ...suppressedFields(said.suppressed) });
  };
}
