/**
 * The broker's Prometheus metrics (prom-client), one registry per broker (tests run
 * several in one process). Every label value is bounded: surfaces, route patterns of the
 * route tables, status classes, upstream and realm names from config and Keycloak,
 * operation names from the code. No user input, token or email ever becomes a label.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { droppedLogLines } from '../http/logger.js';

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'realm_broker_http_request_duration_seconds', help: 'Requests served, by surface, route pattern and status class',
    labelNames: ['surface', 'route', 'method', 'status_class'] as const, buckets: SECONDS, registers: [this.registry],
  });

  readonly upstreamDuration = new Histogram({
    name: 'realm_broker_upstream_request_duration_seconds', help: 'Calls to Keycloak, by upstream, realm, operation and outcome',
    labelNames: ['upstream', 'realm', 'operation', 'outcome'] as const, buckets: SECONDS, registers: [this.registry],
  });

  readonly storeDuration = new Histogram({
    name: 'realm_broker_store_operation_duration_seconds', help: 'Store operations, by backend and operation',
    labelNames: ['backend', 'operation'] as const, buckets: SECONDS, registers: [this.registry],
  });

  readonly storeErrors = new Counter({
    name: 'realm_broker_store_errors_total', help: 'Store operations that failed', labelNames: ['backend', 'operation'] as const, registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: 'realm_broker_rate_limit_rejections_total', help: 'Requests refused by a limit', labelNames: ['limit'] as const, registers: [this.registry],
  });

  readonly realmBusy = new Counter({
    name: 'realm_broker_upstream_realm_busy_total', help: 'Calls to Keycloak not made because their realm had its share of the server in flight (upstream/realm-slots.ts), by outcome: refused (the line was full) or timed_out (the deadline passed in line)',
    labelNames: ['upstream', 'realm', 'outcome'] as const, registers: [this.registry],
  });

  readonly realmHeld = new Gauge({
    name: 'realm_broker_upstream_realm_held_calls', help: 'Calls to Keycloak whose callers have had their timeouts, kept for their realm\'s slot until Keycloak answers (upstream/realm-slots.ts): a realm at its maxInFlightPerRealm here for long is one whose calls Keycloak, or something before it, does not answer',
    labelNames: ['upstream', 'realm'] as const, registers: [this.registry],
  });

  readonly registryRefreshes = new Counter({
    name: 'realm_broker_tenant_registry_refreshes_total', help: 'Realm list loads from an upstream\'s admin API', labelNames: ['upstream', 'outcome'] as const, registers: [this.registry],
  });

  /**
   * Lookups are tallied here and added to `cacheLookups` when it is read (prom-client calls
   * `collect` on every scrape): a proxied grant makes two lookups, and a labelled `inc`
   * each (label checks and hashing) cost more than the lookups themselves.
   */
  private readonly lookups = new Map<string, { hit: number; miss: number }>();

  readonly cacheLookups: Counter<'cache' | 'result'> = new Counter({
    name: 'realm_broker_cache_lookups_total', help: 'Cache lookups, by cache and result', labelNames: ['cache', 'result'] as const, registers: [this.registry],
    collect: () => this.addLookups(),
  });

  readonly backchannelDeliveries = new Counter({
    name: 'realm_broker_backchannel_logout_deliveries_total', help: 'Logout tokens sent to apps (OIDC Back-Channel Logout)', labelNames: ['outcome'] as const, registers: [this.registry],
  });

  /** The process's count (http/logger.ts), added to the counter as it grew, on each scrape. */
  private logDropsCounted = 0;

  readonly logLinesDropped: Counter = new Counter({
    name: 'realm_broker_log_lines_dropped_total', help: 'Log lines dropped because stdout did not take them (LOG_BUFFER_BYTES held already)', registers: [this.registry],
    collect: () => {
      const now = droppedLogLines();
      if (now > this.logDropsCounted) this.logLinesDropped.inc(now - this.logDropsCounted);
      this.logDropsCounted = now;
    },
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    // prom-client samples the event-loop delay with a timer every 10 ms, which wakes an idle
    // broker 100 times a second (most of its idle CPU, a few ms a second). Not made coarser:
    // Node's histogram records the whole interval between samples, so every `lag` reading
    // (p50, min, max) would rise by it, and alerts set on them would mean something else.
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'realm_broker_' });
  }

  cache(cache: string, hit: boolean): void {
    let tally = this.lookups.get(cache);
    if (!tally) this.lookups.set(cache, (tally = { hit: 0, miss: 0 }));
    if (hit) tally.hit++;
    else tally.miss++;
  }

  private addLookups(): void {
    for (const [cache, tally] of this.lookups) {
      if (tally.hit) this.cacheLookups.inc({ cache, result: 'hit' }, tally.hit);
      if (tally.miss) this.cacheLookups.inc({ cache, result: 'miss' }, tally.miss);
      tally.hit = 0;
      tally.miss = 0;
    }
  }
}

/** The outcome label of an upstream call: ok, or the error code it became (a fixed set). */
export function outcomeOf(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^[a-z_]{1,32}$/.test(code) ? code : 'error';
}
