/**
 * The Keycloak servers the broker fronts, by name: for each, its admin connector
 * and a realm connector per realm (cached, so per-realm state is built once).
 */
import type { Config, UpstreamConfig } from '../config/schema.js';
import { BrokerError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { AdminConnector } from './admin-connector.js';
import { RealmConnector } from './realm-connector.js';
import { RealmMetadataCache } from './realm-metadata.js';

export class Upstream {
  readonly admin: AdminConnector;
  private readonly realms = new Map<string, RealmConnector>();

  constructor(
    readonly config: UpstreamConfig,
    private readonly metadata: RealmMetadataCache,
    private readonly brokerClient: Config['brokerClient'],
    private readonly timeoutMs: number,
    private readonly metrics?: Metrics,
  ) {
    this.admin = new AdminConnector(config.url, this.realm(config.admin.realm), config.admin, timeoutMs);
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
      connector = new RealmConnector(realm, address, this.metadata, this.brokerClient, this.timeoutMs, this.metrics && { metrics: this.metrics, upstream: this.name });
      this.realms.set(realm, connector);
    }
    return connector;
  }
}

export class Upstreams {
  private readonly byName = new Map<string, Upstream>();

  constructor(config: Config, metrics?: Metrics) {
    const metadata = new RealmMetadataCache(config.upstreamTimeoutMs, undefined, metrics);
    for (const u of config.upstreams) {
      this.byName.set(u.name, new Upstream(u, metadata, config.brokerClient, config.upstreamTimeoutMs, metrics));
    }
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
