/** Wires the parts into Deps: used by main.ts and by tests, so both run the same assembly. */
import type { Config } from './config/schema.js';
import type { Deps } from './deps.js';
import type { Logger } from './http/logger.js';
import { RealmTokenVerifier } from './keys/realm-token-verifier.js';
import { createStore } from './store/create-store.js';
import type { Store } from './store/store.js';
import { TenantRegistry } from './tenancy/registry.js';
import { Upstreams } from './upstream/upstreams.js';

export async function wire(config: Config, log: Logger, store?: Store): Promise<Deps> {
  const upstreams = new Upstreams(config);
  const tenants = new TenantRegistry(config, upstreams, log);
  return {
    config,
    log,
    store: store ?? (await createStore(config.store)),
    upstreams,
    tenants,
    verifier: new RealmTokenVerifier(upstreams, tenants, config.upstreamTimeoutMs),
  };
}
