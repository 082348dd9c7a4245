/**
 * The figures a fuzz run prints: cases, requests, answers by status (and by surface),
 * time, slowest answer, and the heap after garbage collection at the start and the end.
 *
 * `gc()` is reached without `--expose-gc` on the command line (the suite is launched as
 * always): V8's flag is set at run time and the function taken from a fresh context.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** Heap used after a full collection, in bytes. */
export function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) collect();
  return process.memoryUsage().heapUsed;
}

export class Figures {
  cases = 0;
  requests = 0;
  readonly byStatus = new Map<number, number>();
  readonly bySurface = new Map<string, number>();
  slowest = { ms: 0, what: '' };
  readonly started = performance.now();
  heapStart = 0;
  heapEnd = 0;
  rssStart = process.memoryUsage().rss;
  /** Entries in the broker's memory store at the end (what the heap growth is made of). */
  storeEntries?: number;

  answer(surface: string, status: number, ms: number, what: string): void {
    this.requests++;
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    this.bySurface.set(surface, (this.bySurface.get(surface) ?? 0) + 1);
    if (ms > this.slowest.ms) this.slowest = { ms, what };
  }

  report(): string {
    const s = (performance.now() - this.started) / 1000;
    const statuses = [...this.byStatus].sort(([a], [b]) => a - b).map(([k, v]) => `${k}×${v}`).join(' ');
    const surfaces = [...this.bySurface].map(([k, v]) => `${k} ${v}`).join(', ');
    const mb = (b: number) => (b / 2 ** 20).toFixed(1);
    return [
      `fuzz: ${this.cases} cases, ${this.requests} requests in ${s.toFixed(1)} s (${(this.requests / s).toFixed(0)}/s)`,
      `fuzz: answers by status: ${statuses}`,
      `fuzz: requests by surface: ${surfaces}`,
      `fuzz: slowest answer ${this.slowest.ms.toFixed(0)} ms (${this.slowest.what})`,
      `fuzz: heap after GC ${mb(this.heapStart)} MB → ${this.heapEnd ? `${mb(this.heapEnd)} MB` : 'not measured'}; RSS ${mb(this.rssStart)} MB → ${mb(process.memoryUsage().rss)} MB`
        + (this.storeEntries !== undefined ? `; memory store ${this.storeEntries} entries` : ''),
    ].join('\n');
  }
}
