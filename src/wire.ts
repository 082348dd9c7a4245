/** Wires the parts into Deps: used by main.ts and by tests, so both run the same assembly. */
import type { Config } from './config/schema.js';
import type { Deps } from './deps.js';
import type { Logger } from './http/logger.js';
import { createStore } from './store/create-store.js';
import type { Store } from './store/store.js';
import { TenantRegistry } from './tenancy/registry.js';
import { Upstreams } from './upstream/upstreams.js';

export async function wire(config: Config, log: Logger, store?: Store): Promise<Deps> {
  const upstreams = new Upstreams(config);
  return {
    config,
    log,
    store: store ?? (await createStore(config.store)),
    upstreams,
    tenants: new TenantRegistry(config, upstreams, log),
  };
}
