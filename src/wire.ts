/** Wires the parts into Deps: used by main.ts and by tests, so both run the same assembly. */
import type { Config } from './config/schema.js';
import type { Deps } from './deps.js';
import type { Logger } from './http/logger.js';
import { logUpstreamChange } from './http/upstream-failure-log.js';
import { AggregatedJwks } from './keys/jwks.js';
import { RealmTokenVerifier } from './keys/realm-token-verifier.js';
import { SigningKeys } from './keys/signing-key.js';
import { createStore } from './store/create-store.js';
import type { Store } from './store/store.js';
import { EmailDiscovery } from './tenancy/email-discovery.js';
import { TenantRegistry } from './tenancy/registry.js';
import { Upstreams } from './upstream/upstreams.js';

export async function wire(config: Config, log: Logger, store?: Store): Promise<Deps> {
  const upstreams = new Upstreams(config, logUpstreamChange(log));
  const tenants = new TenantRegistry(config, upstreams, log);
  const theStore = store ?? (await createStore(config.store, (err) => log.warn('Redis is unreachable; retrying in the background', { err })));
  const signingKeys = new SigningKeys(theStore, config.platform.signingJwk);
  return {
    config,
    log,
    store: theStore,
    upstreams,
    tenants,
    verifier: new RealmTokenVerifier(upstreams, tenants, config.upstreamTimeoutMs),
    signingKeys,
    jwks: new AggregatedJwks(signingKeys, upstreams, tenants, config.upstreamTimeoutMs),
    discovery: new EmailDiscovery(tenants, upstreams),
  };
}
