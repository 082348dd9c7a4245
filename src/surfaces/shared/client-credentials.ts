/**
 * The one client-credentials grant of the connect token endpoint and the platform's
 * `client_credentials`, with an opt-in token cache (config `tokenCache.clients`).
 *
 * A cached token is handed out only to the same client, realm and scope, and only to a
 * request that presents the same secret: the store keeps an HMAC of it (never the secret),
 * compared in constant time. Anything else goes to Keycloak, so a wrong secret is refused
 * there and counts like any refusal (and evicts nothing: a caller who knows only the client
 * id cannot empty the cache). A new secret Keycloak accepts replaces the entry (a rotation).
 * An entry lives while the token has more than the safety margin left, and at most
 * `maxAgeSeconds`: the bound on how long a disabled client, or the old secret after a
 * rotation, can still be handed a cached token. A token revoked through the broker leaves the
 * cache at once. Entries are in the store, so replicas share them.
 */
import type { Deps } from '../../deps.js';
import { keepBytes } from '../../http/send-json.js';
import { sameMac } from '../../http/same-secret.js';
import { RecordKind } from '../../store/record.js';
import { digestKey } from '../../store/digest-key.js';
import { CACHE_PREFIX } from '../../store/store.js';
import { storeMac } from '../../store/store-mac.js';
import type { Tenant } from '../../tenancy/tenant.js';
import type { ClientCredentials, TokenResponse } from '../../upstream/realm-connector.js';

interface CachedToken {
  mac: string;
  tokens: TokenResponse;
  /** When the access token expires (ms). */
  expiresAt: number;
}

const cached = new RecordKind<CachedToken>(`${CACHE_PREFIX}cc-token`);
/**
 * The entry a cached access token is in, by a digest of the token: a token revoked through the
 * broker takes its entry with it (`cachedTokenRevoked`). It stayed, and the revoked token was
 * handed out again, with a fresh-looking `expires_in`, for up to `maxAgeSeconds` (attack round 49).
 */
const entryOfToken = new RecordKind<string>(`${CACHE_PREFIX}cc-token-entry`);

/** Bound of the per-process memo below (client, realm and scope combinations in use). */
const MEMO_MAX = 1000;

/**
 * The answer this process last gave for each entry, given again while the entry in the store
 * is the same (same MAC and expiry: not replaced by a rotation, here or on another replica)
 * and its remaining life in whole seconds is too. A hit then costs a store read and a MAC,
 * not a copy and a JSON serialisation of the token response as well (about a tenth of a hit).
 * The answer is frozen with its bytes (send-json.ts), so nothing can change it in between.
 */
const lastAnswers = new Map<string, { mac: string; expiresAt: number; left: number; tokens: TokenResponse }>();
function answerOf(id: string, hit: CachedToken, left: number): TokenResponse {
  const last = lastAnswers.get(id);
  if (last && last.mac === hit.mac && last.expiresAt === hit.expiresAt && last.left === left) return last.tokens;
  const value = { ...hit.tokens, expires_in: left };
  const tokens = keepBytes(value, Buffer.from(JSON.stringify(value)));
  if (lastAnswers.size >= MEMO_MAX) lastAnswers.clear();
  lastAnswers.set(id, { mac: hit.mac, expiresAt: hit.expiresAt, left, tokens });
  return tokens;
}

/** The grant's tokens; `fresh` when Keycloak issued them for this request (not the cache). */
export interface GrantedTokens {
  tokens: TokenResponse;
  fresh: boolean;
}

export async function clientCredentialsGrant(deps: Deps, tenant: Tenant, client: ClientCredentials, scope?: string): Promise<GrantedTokens> {
  const realm = deps.upstreams.get(tenant.upstream).realm(tenant.realm);
  const policy = deps.config.tokenCache;
  if (!policy.clients.includes(client.clientId) || !client.clientSecret) return { tokens: await realm.clientCredentials(client, scope), fresh: true };

  // A caller's own client (connect) and a registry app (platform) of one id are apart: the same
  // secret is the realm's own for one and the registry's for the other (realm-connector.ts `asGiven`).
  const id = digestKey(tenant.upstream, tenant.id.toLowerCase(), client.clientId, client.asGiven ? 'given' : 'registry', scope ?? '');
  const mac = storeMac(deps.config, client.clientSecret);
  const hit = await cached.get(deps.store, id);
  const left = hit ? Math.floor((hit.expiresAt - Date.now()) / 1000) : 0;
  if (hit && sameMac(Buffer.from(hit.mac, 'base64url'), mac) && left > policy.safetyMarginSeconds) {
    deps.metrics.cache('client_credentials', true);
    return { tokens: answerOf(id, hit, left), fresh: false };
  }
  deps.metrics.cache('client_credentials', false);
  const tokens = await realm.clientCredentials(client, scope);
  const expiresIn = typeof tokens.expires_in === 'number' ? tokens.expires_in : 0;
  const ttl = Math.min(policy.maxAgeSeconds, expiresIn - policy.safetyMarginSeconds);
  if (ttl > 0 && typeof tokens.access_token === 'string') {
    // Kept only if the realm that answered is the tenant's by its keys: one that took the realm's
    // name (realm-name-check.ts) had its token handed to the tenant's callers after the window
    // closed, for up to maxAgeSeconds (attack round 52).
    await deps.verifier.assertIssuedBy(tokens.access_token, tenant);
    await entryOfToken.put(deps.store, digestKey(tokens.access_token), id, ttl);
    await cached.put(deps.store, id, { mac: mac.toString('base64url'), tokens, expiresAt: Date.now() + expiresIn * 1000 }, ttl);
  }
  return { tokens, fresh: true };
}

/**
 * Keycloak revoked `token` through the broker (RFC 7009): the cache entry that holds it goes, so
 * that the next grant asks Keycloak for a new token. `token` in the spelling Keycloak issued it
 * (introspection.ts `canonicalToken`: Keycloak revokes other spellings too).
 */
export async function cachedTokenRevoked(deps: Deps, token: string): Promise<void> {
  if (!deps.config.tokenCache.clients.length) return;
  const key = digestKey(token);
  const id = await entryOfToken.take(deps.store, key);
  if (id !== undefined) await cached.delete(deps.store, id);
}
