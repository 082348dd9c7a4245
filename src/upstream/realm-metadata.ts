/**
 * Each realm's OpenID Provider metadata, fetched once and cached (single-flight:
 * concurrent callers share one request). The issuer is checked against the one the
 * broker expects, so a misconfigured public URL fails loudly instead of minting
 * tokens nobody can verify.
 */
import { LRUCache } from 'lru-cache';
import type { ServerMetadata } from 'openid-client';
import { BrokerError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { translateUpstreamError } from './translate-error.js';

export interface RealmAddress {
  /** Where the broker reaches the realm: `{upstream.url}/realms/{realm}`. */
  internalBase: string;
  /** The realm's issuer as tokens carry it: `{upstream.publicUrl}/realms/{realm}`. */
  issuer: string;
}

export class RealmMetadataCache {
  private readonly cache: LRUCache<string, ServerMetadata, RealmAddress>;

  constructor(private readonly timeoutMs: number, ttlMs = 10 * 60_000, private readonly metrics?: Metrics) {
    this.cache = new LRUCache<string, ServerMetadata, RealmAddress>({
      max: 1000,
      ttl: ttlMs,
      fetchMethod: (_key, _stale, { context }) => this.load(context),
    });
  }

  async get(address: RealmAddress): Promise<ServerMetadata> {
    this.metrics?.cache('realm_metadata', this.cache.has(address.internalBase));
    const metadata = await this.cache.fetch(address.internalBase, { context: address });
    if (!metadata) throw new BrokerError('upstream_bad_response', 'No metadata for realm');
    return metadata;
  }

  private async load(address: RealmAddress): Promise<ServerMetadata> {
    const where = `${address.internalBase}/.well-known/openid-configuration`;
    let res: Response;
    try {
      res = await fetch(where, { signal: AbortSignal.timeout(this.timeoutMs), headers: { accept: 'application/json' } });
    } catch (err) {
      throw translateUpstreamError(err, 'realm discovery');
    }
    if (res.status === 404) throw new BrokerError('tenant_not_found', 'Realm not found', { status: 404 });
    if (!res.ok) {
      throw new BrokerError(res.status === 503 ? 'upstream_unavailable' : 'upstream_bad_response',
        `Keycloak answered ${res.status} to realm discovery`, { upstream: { status: res.status }, retryAfter: 5 });
    }
    let body: ServerMetadata;
    try {
      body = (await res.json()) as ServerMetadata;
    } catch (err) {
      throw translateUpstreamError(err, 'realm discovery');
    }
    if (body?.issuer !== address.issuer) {
      throw new BrokerError('upstream_bad_response',
        `Realm issuer is ${String(body?.issuer)}, expected ${address.issuer} (check the upstream's publicUrl)`);
    }
    return body;
  }
}
