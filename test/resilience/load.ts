/**
 * A bounded load generator over loopback: `concurrency` loops send requests until
 * `stop()` (or `maxRequests`), recording each answer's start, end and status. From the
 * records come the figures the fault suite prints and asserts: answers by status, the
 * slowest answer, and how long after a fault was lifted the answers came back.
 */
export interface Sample {
  start: number;
  end: number;
  status: number; // 0: the request itself failed (connection refused or reset)
}

export type Shot = () => Promise<number>;

/** A POST of a form, resolving to its status (the body is read and dropped). */
export function formPost(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Shot {
  const body = new URLSearchParams(fields).toString();
  return async () => {
    const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
    await res.arrayBuffer();
    return res.status;
  };
}

export function get(url: string, headers: Record<string, string> = {}): Shot {
  return async () => {
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    return res.status;
  };
}

export class Load {
  readonly samples: Sample[] = [];
  private stopped = false;
  private readonly done: Promise<void>;
  readonly t0 = performance.now();

  constructor(shots: Shot[], concurrency: number, private readonly maxRequests = 200_000, maxSeconds = 120) {
    let n = 0;
    const deadline = this.t0 + maxSeconds * 1000;
    this.done = Promise.all(Array.from({ length: concurrency }, async () => {
      while (!this.stopped && n < this.maxRequests && performance.now() < deadline) {
        const shot = shots[n++ % shots.length]!;
        const start = performance.now();
        const status = await shot().catch(() => 0);
        this.samples.push({ start, end: performance.now(), status });
        // A failed connection answers at once: yield so the loop cannot spin the CPU.
        if (status === 0) await new Promise((r) => setTimeout(r, 5));
      }
    })).then(() => undefined);
  }

  now(): number {
    return performance.now();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  /** Figures over the samples that started in [from, to). */
  figures(from = -Infinity, to = Infinity): Figures {
    const chosen = this.samples.filter((s) => s.start >= from && s.start < to);
    const byStatus: Record<string, number> = {};
    let slowest = 0;
    for (const s of chosen) {
      byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
      slowest = Math.max(slowest, s.end - s.start);
    }
    return { requests: chosen.length, byStatus, slowestMs: Math.round(slowest) };
  }

  /**
   * Milliseconds from `liftedAt` until the answers were good again: the start of the
   * first request after which no request started got a bad answer (`bad`: 5xx or 0).
   * Undefined when nothing after the lift succeeded.
   */
  recoveryMs(liftedAt: number, bad = (status: number) => status === 0 || status >= 500): number | undefined {
    const after = this.samples.filter((s) => s.start >= liftedAt).sort((a, b) => a.start - b.start);
    let lastBad = -1;
    after.forEach((s, i) => { if (bad(s.status)) lastBad = i; });
    const first = after[lastBad + 1];
    return first ? Math.round(Math.max(0, first.start - liftedAt)) : undefined;
  }
}

export interface Figures {
  requests: number;
  byStatus: Record<string, number>;
  slowestMs: number;
}
