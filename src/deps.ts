/** What the surfaces are built from: the parts of DESIGN.md, wired once in main.ts (or a test). */
import type { Config } from './config/schema.js';
import type { AggregatedJwks } from './keys/jwks.js';
import type { RealmTokenVerifier } from './keys/realm-token-verifier.js';
import type { SigningKeys } from './keys/signing-key.js';
import type { Logger } from './http/logger.js';
import type { Store } from './store/store.js';
import type { EmailDiscovery } from './tenancy/email-discovery.js';
import type { TenantRegistry } from './tenancy/registry.js';
import type { Upstreams } from './upstream/upstreams.js';

export interface Deps {
  config: Config;
  log: Logger;
  store: Store;
  upstreams: Upstreams;
  tenants: TenantRegistry;
  verifier: RealmTokenVerifier;
  signingKeys: SigningKeys;
  jwks: AggregatedJwks;
  discovery: EmailDiscovery;
}
