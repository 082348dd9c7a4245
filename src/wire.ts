/** Wires the parts into Deps: used by main.ts and by tests, so both run the same assembly. */
import type { Config } from './config/schema.js';
import type { Deps } from './deps.js';
import { buildLimits } from './http/limits.js';
import { sampledWarning } from './http/log-sampler.js';
import type { Logger } from './http/logger.js';
import { RateLimits } from './http/rate-limit.js';
import { logUpstreamChange } from './http/upstream-failure-log.js';
import { AnswerMemo } from './http/answer-memo.js';
import { RealmJwks } from './keys/jwks.js';
import { RealmTokenVerifier } from './keys/realm-token-verifier.js';
import { SigningKeys } from './keys/signing-key.js';
import { instrumentStore } from './metrics/instrumented-store.js';
import { Metrics } from './metrics/metrics.js';
import { createStore } from './store/create-store.js';
import { RedisStore } from './store/redis-store.js';
import type { Store } from './store/store.js';
import { AddressHolders } from './tenancy/address-holders.js';
import { EmailDiscovery } from './tenancy/email-discovery.js';
import { EmailVouching } from './tenancy/email-vouching.js';
import { TenantRegistry } from './tenancy/registry.js';
import { StandingRealms } from './tenancy/standing-realms.js';
import { TenantHomes } from './tenancy/tenant-homes.js';
import { Upstreams } from './upstream/upstreams.js';

export async function wire(config: Config, log: Logger, store?: Store, metrics = new Metrics()): Promise<Deps> {
  const upstreams = new Upstreams(config, logUpstreamChange(log), metrics);
  const rawStore = store ?? (await createStore(config.store, sampledWarning(log, 'Redis is unreachable; retrying in the background')));
  const theStore = instrumentStore(rawStore, metrics);
  // A migration's live switch reaches this replica through the store (tenancy/tenant-homes.ts).
  const homes = new TenantHomes(theStore, 1000, sampledWarning(log, 'tenant homes unreadable; routing as last known'));
  const standing = new StandingRealms(theStore, sampledWarning(log, 'tenant standing record unreadable or unwritable; routing as this replica knows it'));
  const tenants = new TenantRegistry(config, upstreams, log, homes, metrics, standing);
  // Per-realm client secrets are made from the realm's id, which the registry knows.
  upstreams.secrets.realmIdOf = (issuer) => tenants.realmIdOf(issuer);
  const signingKeys = new SigningKeys(theStore, {
    configured: config.platform.signingJwk,
    encryptionKey: config.platform.keyEncryptionKey,
    publishSeconds: config.platform.keyPublishSeconds,
    idTokenTtlSeconds: config.platform.idTokenTtlSeconds,
  });
  // Limits count where the state lives: in Redis for replicas, else in this process.
  const rateLimits = new RateLimits(rawStore instanceof RedisStore
    ? { redis: rawStore.client, prefix: rawStore.prefix }
    : { prefix: config.store.prefix }, (limit) => metrics.rateLimited.inc({ limit }));
  // Local answers are recorded for a second; a realm key set that changes (a token signed
  // with a new realm key was handed out) must show in the platform JWKS at once.
  const answers = new AnswerMemo();
  // Who has an address, across the tenants: asked by discovery and by email vouching.
  const holders = new AddressHolders(tenants, upstreams, log);
  return {
    config,
    log,
    store: theStore,
    upstreams,
    tenants,
    verifier: new RealmTokenVerifier(upstreams, tenants, config.upstreamTimeoutMs, log),
    signingKeys,
    jwks: new RealmJwks(upstreams, tenants, () => answers.clear()),
    discovery: new EmailDiscovery(tenants, holders),
    vouching: new EmailVouching(holders),
    limits: buildLimits(config, rateLimits),
    metrics,
    answers,
  };
}
