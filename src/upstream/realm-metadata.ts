/**
 * Each realm's OpenID Provider metadata, fetched once and cached (single-flight:
 * concurrent callers share one request). The issuer is checked against the one the
 * broker expects, so a misconfigured public URL fails loudly instead of minting
 * tokens nobody can verify.
 *
 * Keycloak names its endpoints after the host it is called by, or after its configured
 * public hostname. The broker's own calls (grants, introspection, keys) must go to the
 * upstream's `url`, where its timeouts and circuit breaker apply, not to the public URL
 * that browsers use: `backchannel` is the metadata with those endpoints moved there.
 */
import { LRUCache } from 'lru-cache';
import type { ServerMetadata } from 'openid-client';
import { BrokerError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { translateUpstreamError } from './translate-error.js';
import type { UpstreamFetch } from './upstream-fetch.js';

/** The endpoints the broker calls itself (the others are for browsers). */
const BACKCHANNEL = ['token_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'userinfo_endpoint',
  'device_authorization_endpoint', 'pushed_authorization_request_endpoint', 'backchannel_authentication_endpoint', 'jwks_uri'] as const;

export interface RealmMetadata {
  /** As Keycloak published it: what browsers and apps are shown. */
  published: ServerMetadata;
  /** The same, with the endpoints the broker calls moved to the upstream's `url`. */
  backchannel: ServerMetadata;
}

function backchannel(published: ServerMetadata, address: RealmAddress): ServerMetadata {
  if (address.internalBase === address.issuer) return published;
  const moved: ServerMetadata = { ...published };
  for (const key of BACKCHANNEL) {
    const value = published[key];
    if (typeof value === 'string' && value.startsWith(`${address.issuer}/`)) {
      (moved as Record<string, unknown>)[key] = address.internalBase + value.slice(address.issuer.length);
    }
  }
  return moved;
}

export interface RealmAddress {
  /** Where the broker reaches the realm: `{upstream.url}/realms/{realm}`. */
  internalBase: string;
  /** The realm's issuer as tokens carry it: `{upstream.publicUrl}/realms/{realm}`. */
  issuer: string;
}

interface LoadContext {
  address: RealmAddress;
  fetch: UpstreamFetch;
}

export class RealmMetadataCache {
  private readonly cache: LRUCache<string, RealmMetadata, LoadContext>;

  constructor(ttlMs = 10 * 60_000, private readonly metrics?: Metrics) {
    this.cache = new LRUCache<string, RealmMetadata, LoadContext>({
      max: 1000,
      ttl: ttlMs,
      fetchMethod: (_key, _stale, { context }) => this.discover(context),
    });
  }

  /** The realm's metadata, fetched through `fetch` (its upstream's) when not cached. */
  get(address: RealmAddress, fetch: UpstreamFetch): Promise<RealmMetadata> {
    // Nearly every call: cached and fresh, answered without lru-cache's fetch machinery.
    const cached = this.cache.get(address.internalBase);
    this.metrics?.cache('realm_metadata', cached !== undefined);
    return cached !== undefined ? Promise.resolve(cached) : this.load(address, fetch);
  }

  private async load(address: RealmAddress, fetch: UpstreamFetch): Promise<RealmMetadata> {
    const metadata = await this.cache.fetch(address.internalBase, { context: { address, fetch } });
    if (!metadata) throw new BrokerError('upstream_bad_response', 'No metadata for realm');
    return metadata;
  }

  private async discover({ address, fetch }: LoadContext): Promise<RealmMetadata> {
    const where = `${address.internalBase}/.well-known/openid-configuration`;
    let res: Response;
    try {
      res = await fetch(where, { headers: { accept: 'application/json' } });
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
    return { published: body, backchannel: backchannel(body, address) };
  }
}
