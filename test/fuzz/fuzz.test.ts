/**
 * Fuzz: property-based requests (fast-check) to every route of every surface, read from
 * the app's route tables, generated from each route's zod schema and far beyond it. Each
 * answer must be in its surface's documented shape, no 5xx but an upstream failure, no
 * stack traces or internal addresses, no crash; the heap after GC must not grow past a
 * bound over the run. Figures are printed at the end.
 *
 * Sized for CI (a few thousand cases). `npm run fuzz` runs the same properties longer:
 *   FUZZ_RUNS    cases per property (default 250: ~3,500 cases over 16 properties)
 *   FUZZ_SEED    fast-check seed (printed by a failure, to replay it)
 *   FUZZ_COLLECT 1: do not stop at the first failure; list every broken rule with its shortest example
 *   FUZZ_STORE   redis: run the broker on the shared Redis, under its own key prefix
 *   FUZZ_HEAP_MB allowed heap growth after GC over the run (default 48; the warm-up of
 *                the code paths alone is 10-25 MB, plateauing within the first few thousand cases)
 *   FUZZ_BUDGET_S time for all properties (default 50 s; 0: none). A property out of its share
 *                of what is left stops generating (printed), so a slow Keycloak cannot stretch CI
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { cleanRedisPrefix, clearLockouts, REDIS_URL } from '../helpers/services.js';
import { heapAfterGc } from './figures.js';
import { Harness } from './harness.js';
import { KNOWN } from './known-cases.js';
import { FAMILIES, type Family, type FuzzRequest } from './requests.js';
import { SURFACES, type Surface } from './routes.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 250);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const COLLECT = process.env.FUZZ_COLLECT === '1';
const REDIS = process.env.FUZZ_STORE === 'redis';
const HEAP_MB = Number(process.env.FUZZ_HEAP_MB ?? 48);
const BUDGET_S = Number(process.env.FUZZ_BUDGET_S ?? 50);
const PREFIX = `fuzz-${process.pid}:`;
/** Share of the runs per family: schema-driven cases reach the logic, the others its edges. */
const SHARE: Record<Family, number> = { schema: 1, types: 1, bodies: 1, methods: 0.5 };

/** A request as JSON with long strings cut, for the collected list. */
const short = (req: FuzzRequest) => JSON.stringify(req, (_, v: unknown) => (typeof v === 'string' && v.length > 100 ? `${v.slice(0, 60)}…(${v.length} chars)` : v));

describe('Fuzz: every route of every surface', function () {
  this.timeout(0);
  let broker: TestBroker;
  let harness: Harness;
  const families = Object.keys(FAMILIES) as Family[];
  let propertiesLeft = SURFACES.length * families.length;
  let deadline = Infinity;
  /** rule → shortest request that broke it (FUZZ_COLLECT). */
  const collected = new Map<string, { count: number; request: FuzzRequest; problems: string[] }>();

  before(async () => {
    broker = await startBroker(REDIS ? { env: { REDIS_URL, STORE_PREFIX: PREFIX } } : {});
    harness = new Harness(broker);
    await harness.seed();
    // Warm up every route once (caches, realm list, keys) before the heap is measured.
    for (const route of harness.routes) {
      await harness.exercise({ route: route.name, method: route.methods[0]!, path: route.path.replace(':slug', 'acme'), query: '', headers: {}, body: { kind: 'none' } });
    }
    harness.figures.heapStart = heapAfterGc();
    if (BUDGET_S > 0) deadline = performance.now() + BUDGET_S * 1000;
  });

  after(async () => {
    harness?.stop();
    if (harness) console.log(harness.figures.report());
    await broker?.close();
    if (REDIS) await cleanRedisPrefix(PREFIX);
    await clearLockouts();
  });

  it('finds the routes of every surface in the route tables', () => {
    const bySurface = (s: Surface) => harness.routes.filter((r) => r.surface === s);
    for (const s of SURFACES) assert.ok(bySurface(s).length > 0, `no route of surface ${s}`);
    assert.ok(harness.routes.some((r) => r.kind === 'page'), 'no page route found (asPage)');
    assert.ok(harness.routes.filter((r) => r.ownSchema).length >= 7, 'routes with their own zod schema not found');
    console.log(`fuzz: ${harness.routes.length} routes: ${SURFACES.map((s) => `${s} ${bySurface(s).length}`).join(', ')}`);
  });

  for (const surface of SURFACES) {
    for (const family of families) {
      it(`${surface}: ${family} requests answer in the surface's shape, without 5xx`, async () => {
        const routes = harness.routes.filter((r) => r.surface === surface);
        const perRoute = new Map(routes.map((r) => [r, FAMILIES[family](r)]));
        const requests = fc.constantFrom(...routes).chain((r) => perRoute.get(r)!);
        const property = fc.asyncProperty(requests, async (req) => {
          harness.figures.cases++;
          const problems = await harness.exercise(req);
          if (problems.length === 0) return;
          if (!COLLECT) throw new Error(`${req.method} ${req.path}: ${problems.join('; ')}`);
          for (const rule of problems.slice(0, -1)) {
            const key = `${req.route} | ${rule}`;
            const seen = collected.get(key);
            if (!seen || JSON.stringify(req).length < JSON.stringify(seen.request).length) collected.set(key, { count: (seen?.count ?? 0) + 1, request: req, problems });
            else seen.count++;
          }
        });
        const examples = (KNOWN[`${surface} ${family}`] ?? []).map((req): [FuzzRequest] => [req]);
        // Up to three fair shares of what is left: a property slowed by Keycloak may borrow from the quick ones.
        const share = Number.isFinite(deadline) ? Math.max(1000, Math.min(deadline - performance.now(), 3 * (deadline - performance.now()) / propertiesLeft)) : undefined;
        propertiesLeft--;
        const numRuns = Math.max(1, Math.round(RUNS * SHARE[family]));
        const casesBefore = harness.figures.cases;
        try {
          await fc.assert(property, { numRuns, seed: SEED, examples, interruptAfterTimeLimit: share, markInterruptAsFailure: false });
        } finally {
          harness.figures.heapSeries.push((heapAfterGc(1) / 2 ** 20).toFixed(0));
        }
        const ran = harness.figures.cases - casesBefore;
        if (ran < numRuns) harness.figures.interrupted.push(`${surface} ${family} ${ran}/${numRuns}`);
      });
    }
  }

  it('keeps the process alive and its heap bounded', async () => {
    const health = await fetch(`${broker.url}/auth/api/v1/healthz`);
    assert.equal(health.status, 200);
    harness.figures.heapEnd = heapAfterGc();
    harness.figures.storeEntries = (broker.deps.store as { cache?: { size: number } }).cache?.size;
    assert.deepEqual(harness.crashes, [], 'uncaught exceptions or unhandled rejections during the fuzz');
    const growth = (harness.figures.heapEnd - harness.figures.heapStart) / 2 ** 20;
    assert.ok(growth < HEAP_MB, `heap after GC grew by ${growth.toFixed(1)} MB over the run (bound ${HEAP_MB} MB)`);
  });

  if (COLLECT) {
    it('breaks no rule (every broken rule, with its shortest example)', () => {
      const lines = [...collected].sort(([a], [b]) => a.localeCompare(b))
        .map(([key, { count, request, problems }]) => `${key} (×${count})\n    ${short(request)}\n    ${problems.at(-1)}`);
      assert.equal(lines.length, 0, `\n${lines.join('\n')}`);
    });
  }
});
