/**
 * The two key sets, kept apart on purpose (DESIGN decision 3, as settled by the security
 * review):
 * - the issuer's JWKS (`jwks_uri` of the platform and of every tenant issuer): the
 *   broker's own signing keys only, the one trust anchor for the ID tokens it issues;
 *   no realm can sign anything an RP would accept as the broker's;
 * - the documented platform JWKS (`/api/v1/platform/.well-known/jwks.json`): the realms'
 *   keys, for resource servers verifying Keycloak's access tokens. Each key names the
 *   realm issuer it belongs to (`iss`), so a verifier can insist that a token's key is its
 *   own issuer's (README "Verifying tokens"). It carries no broker key: an ID token does
 *   not verify against it.
 */
import type Koa from 'koa';
import { PreparedBySource, sendPrepared } from '../../http/local-answer.js';
import type { RealmJwks } from '../../keys/jwks.js';
import type { SigningKeys } from '../../keys/signing-key.js';

export function realmKeysDocument(jwks: RealmJwks): Koa.Middleware {
  const prepared = new PreparedBySource<object>();
  return async function realmKeysDocument(ctx) {
    const keys = await jwks.keys();
    sendPrepared(ctx, prepared.get(keys, '', () => ({ keys })), 'public, max-age=300');
  };
}

export function issuerKeysDocument(keys: SigningKeys): Koa.Middleware {
  const prepared = new PreparedBySource<object>();
  return async function issuerKeysDocument(ctx) {
    const published = await keys.published();
    // Short: RPs must see a rotation's new key before it signs (signing-key.ts).
    sendPrepared(ctx, prepared.get(published, '', () => ({ keys: published })), 'public, max-age=60');
  };
}
