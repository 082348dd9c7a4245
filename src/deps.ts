/** What the surfaces are built from: the parts of DESIGN.md, wired once in main.ts (or a test). */
import type { Config } from './config/schema.js';
import type { RealmJwks } from './keys/jwks.js';
import type { RealmTokenVerifier } from './keys/realm-token-verifier.js';
import type { SigningKeys } from './keys/signing-key.js';
import type { AnswerMemo } from './http/answer-memo.js';
import type { Limits } from './http/limits.js';
import type { Logger } from './http/logger.js';
import type { Metrics } from './metrics/metrics.js';
import type { Store } from './store/store.js';
import type { EmailDiscovery } from './tenancy/email-discovery.js';
import type { EmailVouching } from './tenancy/email-vouching.js';
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
  jwks: RealmJwks;
  discovery: EmailDiscovery;
  vouching: EmailVouching;
  limits: Limits;
  metrics: Metrics;
  /** Local answers the server sends again for a moment without Koa (answer-memo.ts). */
  answers: AnswerMemo;
}
