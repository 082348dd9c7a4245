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

/** Heap used after a full collection (`passes` of them), in bytes. */
export function heapAfterGc(passes = 3): number {
  for (let i = 0; i < passes; i++) collect();
  return process.memoryUsage().heapUsed;
}

/** The error code of a JSON error answer of any surface; '(page)' for HTML. */
function errorCode(text: string): string | undefined {
  if (/^<!doctype html>/i.test(text)) return '(page)';
  try {
    const body = JSON.parse(text) as { error?: unknown; detail?: unknown };
    if (typeof body.error === 'string') return body.error;
    if (body.error && typeof body.error === 'object') return String((body.error as { code?: unknown }).code);
    if (Array.isArray(body.detail)) return '(422 detail)';
  } catch { /* not JSON */ }
  return text ? '(not JSON)' : '(empty)';
}

export class Figures {
  cases = 0;
  requests = 0;
  readonly byStatus = new Map<number, number>();
  readonly bySurface = new Map<string, number>();
  /** Error codes answered, per surface (`connect invalid_client`, `scaiwave SW_AUTH_…`). */
  readonly byCode = new Map<string, number>();
  /** Properties that ran out of their share of the time budget, with their runs. */
  readonly interrupted: string[] = [];
  slowest = { ms: 0, what: '' };
  readonly started = performance.now();
  heapStart = 0;
  heapEnd = 0;
  /** Heap after GC at the end of each property, in MB, to tell a plateau from a slope. */
  readonly heapSeries: string[] = [];
  rssStart = process.memoryUsage().rss;
  /** Entries in the broker's memory store at the end (what the heap growth is made of). */
  storeEntries?: number;

  answer(surface: string, status: number, ms: number, what: string, text = ''): void {
    this.requests++;
    if (status >= 400) {
      const code = errorCode(text);
      if (code) this.byCode.set(`${surface} ${code}`, (this.byCode.get(`${surface} ${code}`) ?? 0) + 1);
    }
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
      `fuzz: error codes: ${[...this.byCode].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}×${v}`).join(', ')}`,
      ...(this.interrupted.length ? [`fuzz: out of time budget: ${this.interrupted.join(', ')}`] : []),
      `fuzz: slowest answer ${this.slowest.ms.toFixed(0)} ms (${this.slowest.what})`,
      `fuzz: heap after GC ${mb(this.heapStart)} MB → ${this.heapEnd ? `${mb(this.heapEnd)} MB` : 'not measured'}; RSS ${mb(this.rssStart)} MB → ${mb(process.memoryUsage().rss)} MB`
        + (this.storeEntries !== undefined ? `; memory store ${this.storeEntries} entries` : ''),
      `fuzz: heap after GC after each property (MB): ${this.heapSeries.join(' ')}`,
    ].join('\n');
  }
}
