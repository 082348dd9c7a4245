/**
 * The Keycloak servers the broker fronts, by name: for each, its circuit breaker, the
 * fetch all its calls go through, its admin connector and a realm connector per realm
 * (cached, so per-realm state is built once). One server's breaker never touches
 * another's: each has its own.
 */
import type { Config, UpstreamConfig } from '../config/schema.js';
import { BrokerError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { AdminConnector } from './admin-connector.js';
import { CircuitBreaker, type BreakerChange } from './circuit-breaker.js';
import { KeepAliveClient } from './keepalive-client.js';
import { RealmConnector } from './realm-connector.js';
import { RealmMetadataCache } from './realm-metadata.js';
import { RealmSecrets } from './realm-secrets.js';
import { RealmSlots } from './realm-slots.js';
import { SlottedFetch } from './slotted-fetch.js';
import { cappedAgent, guardedFetch, type UpstreamFetch } from './upstream-fetch.js';

export class Upstream {
  readonly admin: AdminConnector;
  readonly breaker: CircuitBreaker;
  /** Every call to this server goes through it (deadline, breaker). */
  readonly fetch: UpstreamFetch;
  /** The keep-alive pool the hot grants use (deadline and breaker too). */
  readonly http: KeepAliveClient;
  /** Each realm's share of this server's work in flight (realm-slots.ts). */
  readonly slots: RealmSlots;
  /** The fetch for calls that are their realm's to slow down (slotted-fetch.ts). */
  readonly slotted: SlottedFetch;
  private readonly realms = new Map<string, RealmConnector>();
  /** The fetch calls' pool (discovery, key sets, the admin API), answers capped in size. */
  private readonly agent = cappedAgent();

  constructor(
    readonly config: UpstreamConfig,
    private readonly metadata: RealmMetadataCache,
    private readonly brokerClient: Config['brokerClient'],
    timeoutMs: number,
    onChange?: (change: BreakerChange) => void,
    private readonly metrics?: Metrics,
    private readonly secrets?: RealmSecrets,
  ) {
    this.breaker = new CircuitBreaker(config.name, {
      // Any answer from the realm Keycloak always has means the server is back.
      probe: async (signal) => {
        const res = await fetch(`${config.url}/realms/${encodeURIComponent(config.admin.realm)}`, { signal });
        await res.body?.cancel();
        if (res.status >= 500) throw new Error(`probe answered ${res.status}`);
      },
      probeTimeoutMs: Math.min(timeoutMs, 1000),
      onChange: (change) => {
        // Calls kept past their deadlines for their realms' slots may never be answered now.
        if (change.state === 'down') {
          this.http.giveUpHeld();
          this.slotted.giveUpHeld();
        }
        onChange?.(change);
      },
    });
    this.fetch = guardedFetch(this.breaker, timeoutMs, this.agent);
    this.slots = new RealmSlots(config.name, config.maxInFlightPerRealm, metrics, config.maxInFlightPerAddress, config.holdLimitMs);
    this.http = new KeepAliveClient(this.breaker, timeoutMs, config.maxConnections, this.slots);
    this.slotted = new SlottedFetch(this.breaker, timeoutMs, this.slots);
    this.admin = new AdminConnector(config.url, this.realm(config.admin.realm), config.admin, this.breaker, timeoutMs, this.slotted, this.agent);
  }

  /** Closes the connections (the broker is stopping). */
  close(): void {
    this.breaker.stop();
    this.http.close();
    this.slotted.close();
    void this.agent.close().catch(() => {});
  }

  get name(): string {
    return this.config.name;
  }

  /** The issuer a realm of this server puts in its tokens. */
  issuerOf(realm: string): string {
    return `${this.config.publicUrl ?? this.config.url}/realms/${encodeURIComponent(realm)}`;
  }

  realm(realm: string): RealmConnector {
    let connector = this.realms.get(realm);
    if (!connector) {
      const address = { internalBase: `${this.config.url}/realms/${encodeURIComponent(realm)}`, issuer: this.issuerOf(realm) };
      connector = new RealmConnector(realm, address, this.metadata, this.brokerClient, this.fetch, this.slotted.of(realm), this.http, this.secrets, this.metrics && { metrics: this.metrics, upstream: this.name });
      this.realms.set(realm, connector);
    }
    return connector;
  }
}

export class Upstreams {
  private readonly byName = new Map<string, Upstream>();
  /** The clients' secrets at each realm (realm-secrets.ts); wire.ts tells it the realms' ids. */
  readonly secrets: RealmSecrets;

  constructor(config: Config, onChange?: (change: BreakerChange) => void, metrics?: Metrics) {
    const metadata = new RealmMetadataCache(undefined, metrics);
    this.secrets = new RealmSecrets(config);
    for (const u of config.upstreams) {
      this.byName.set(u.name, new Upstream(u, metadata, config.brokerClient, config.upstreamTimeoutMs, onChange, metrics, this.secrets));
    }
  }

  /** Stops the breakers' probes and closes the pools' connections (the broker is closing). */
  close(): void {
    for (const u of this.byName.values()) u.close();
  }

  all(): Upstream[] {
    return [...this.byName.values()];
  }

  get(name: string): Upstream {
    const upstream = this.byName.get(name);
    if (!upstream) throw new BrokerError('server_error', `No upstream named ${name}`);
    return upstream;
  }
}
