/**
 * Token introspection (RFC 7662) at a realm, as the broker's own client, for both surfaces
 * (connect's /introspect, the platform's and the tenant issuers'), with an opt-in cache
 * (config `introspectionCache.maxAgeSeconds`; 0, the default, is off; `tenants` limits it to
 * some tenants).
 *
 * A resource server introspects the same token on every request it serves; Keycloak answers
 * each in a few hundred microseconds of its CPU, which is about what any proxy spends passing
 * the call on (issue 12). With the cache, an *active* answer is kept in the store (replicas
 * share it) under a digest of the realm and the token (the store never holds the token), for
 * at most `maxAgeSeconds` and never past the token's `exp`. Inactive answers are not kept: a
 * token that is inactive stays so, and keeping them would let anyone fill the store with
 * made-up tokens.
 *
 * What stays true with the cache on (Keycloak is the authority; the cache only ever says again
 * what Keycloak said, and a mark below only ever sends a token back to Keycloak):
 * - a token revoked through the broker (RFC 7009 revoke) is asked of Keycloak again at once:
 *   its entry becomes a `bypass` mark, which a late answer cannot replace (entries are written
 *   only where absent); once Keycloak has revoked it, its session is marked as ended too (a
 *   refresh token's revocation ends the session's client session). Keycloak accepts several
 *   spellings of one token, so only the canonical one is cached (`canonicalToken`);
 * - a realm session ended through the broker (RP-initiated logout) or by the realm (a
 *   back-channel logout token that names its `sid`) is marked ended: its tokens' entries (which carry the `sid`
 *   Keycloak's answer named) are no longer used;
 * - the bound: a token that Keycloak alone ended, without telling the broker (an admin's
 *   logout with no back-channel logout to the broker, a disabled user, an idle session
 *   expiring) can read active for at most `maxAgeSeconds` more.
 * Marks live `maxAgeSeconds` plus the upstream timeout, so that an answer Keycloak gave before
 * the mark, arriving late, still meets it.
 */
import * as jose from 'jose';
import type { Deps } from '../../deps.js';
import { jsonBytes, keepBytes } from '../../http/send-json.js';
import { digestKey } from '../../store/digest-key.js';
import { RecordKind } from '../../store/record.js';
import { CACHE_PREFIX } from '../../store/store.js';
import type { RealmEntry } from '../../tenancy/tenant.js';
import type { IntrospectionResponse } from '../../upstream/realm-connector.js';

/** Where a token is introspected: a realm of an upstream, by name (to call) and id (to key: digest-key.ts). */
export interface RealmAddress {
  upstream: string;
  realm: string;
  id: string;
}

/** Keycloak's active answer as it sent it, with the realm session it names. */
interface CachedAnswer {
  body: string;
  sid?: string;
}
/** A token revoked through the broker: asked of Keycloak while the mark lives. */
interface Bypass {
  bypass: true;
}

/**
 * Entries and bypass marks share a key, in a cache's room (store.ts): an entry evicted, mark or
 * answer, only sends the token to Keycloak. The session marks are state: kept as a flow's are.
 */
const answers = new RecordKind<CachedAnswer | Bypass>(`${CACHE_PREFIX}introspection`);
const endedSessions = new RecordKind<true>('introspection-ended-session');

/**
 * A token's entry, by a digest of realm and token (digest-key.ts). Not an HMAC: unlike a client
 * secret (store-mac.ts), a token carries its own signature's entropy, so a digest of it lets no
 * reader of the store confirm a guess.
 */
const tokenKey = (at: RealmAddress, token: string) => digestKey(at.upstream, at.id.toLowerCase(), token);
const sessionKey = (at: RealmAddress, sid: string) => digestKey(at.upstream, at.id.toLowerCase(), sid);
/** A revocation's mark goes on the token's canonical spelling, whatever was sent. */
const markKey = (at: RealmAddress, token: string) => tokenKey(at, canonicalToken(token) ?? token);
const markTtl = (deps: Deps) => deps.config.introspectionCache.maxAgeSeconds + Math.ceil(deps.config.upstreamTimeoutMs / 1000);

/** Bound of the per-process memo below (tokens being introspected now). */
const MEMO_MAX = 1000;
/**
 * The answer this process last gave for each entry, given again while the stored body is the
 * same: a hit then costs a store read and a string compare, not a JSON parse (the answer is
 * frozen with its bytes, send-json.ts, so nothing can change it in between).
 */
const lastAnswers = new Map<string, { body: string; value: IntrospectionResponse }>();
function answerOf(key: string, body: string): IntrospectionResponse {
  const last = lastAnswers.get(key);
  if (last?.body === body) return last.value;
  const value = keepBytes(JSON.parse(body) as IntrospectionResponse, Buffer.from(body));
  if (lastAnswers.size >= MEMO_MAX) lastAnswers.clear();
  lastAnswers.set(key, { body, value });
  return value;
}

/** Whether the introspection cache serves tenant `slug` (the tenant whose realm is asked). */
export function cachesIntrospection(deps: Deps, slug: string | undefined): boolean {
  const { maxAgeSeconds, tenants } = deps.config.introspectionCache;
  return maxAgeSeconds > 0 && (!tenants || (slug !== undefined && tenants.includes(slug)));
}

/** The same for a realm: its tenant is looked up only when the cache is on for some tenants. */
export async function cachesIntrospectionAt(deps: Deps, realm: RealmEntry): Promise<boolean> {
  const { maxAgeSeconds, tenants } = deps.config.introspectionCache;
  if (!maxAgeSeconds || !tenants) return maxAgeSeconds > 0;
  return cachesIntrospection(deps, (await deps.tenants.byRealm(realm))?.slug);
}

/** A JWS (header.payload.signature) as Keycloak issues it: base64url, no padding. */
const JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * The one spelling of a JWS that the cache knows a token by, or undefined when `token` is no
 * JWS. Keycloak accepts other spellings of the same token (the signature with padding, in
 * standard base64, or with other values in the unused bits of its last character); the header
 * and payload cannot vary, as the signature covers them as they are written. A token revoked
 * in one spelling must not stay cached in another, so the cache serves the canonical spelling
 * only (every other goes to Keycloak) and a revocation marks it, whatever was sent.
 */
export function canonicalToken(token: string): string | undefined {
  const dot = token.lastIndexOf('.');
  const head = token.slice(0, dot);
  if (dot < 0 || head.indexOf('.') < 0 || head.indexOf('.') !== head.lastIndexOf('.')) return undefined;
  const signature = Buffer.from(token.slice(dot + 1), 'base64').toString('base64url');
  const canonical = `${head}.${signature}`;
  return JWS.test(canonical) ? canonical : undefined;
}

/** Introspects `token` at `at`; `cached`: through the cache (`cachesIntrospection`). */
export async function introspectAt(deps: Deps, at: RealmAddress, token: string, cached: boolean): Promise<IntrospectionResponse> {
  const realm = deps.upstreams.get(at.upstream).realm(at.realm);
  const maxAge = deps.config.introspectionCache.maxAgeSeconds;
  // Only the canonical spelling is cached (canonicalToken): any other is asked of Keycloak.
  if (!cached || !maxAge || canonicalToken(token) !== token) return realm.introspect(token);

  const key = tokenKey(at, token);
  const entry = await answers.get(deps.store, key);
  if (entry && 'body' in entry && typeof entry.body === 'string'
    && !(entry.sid && await endedSessions.get(deps.store, sessionKey(at, entry.sid)))) {
    deps.metrics.cache('introspection', true);
    return answerOf(key, entry.body);
  }
  deps.metrics.cache('introspection', false);
  const answer = await realm.introspect(token);
  if (!entry) await remember(deps, key, answer, maxAge);
  return answer;
}

async function remember(deps: Deps, key: string, answer: IntrospectionResponse, maxAge: number): Promise<void> {
  if (answer.active !== true || typeof answer.exp !== 'number') return;
  const ttl = Math.min(maxAge, Math.floor(answer.exp - Date.now() / 1000));
  if (ttl <= 0) return;
  const sid = typeof answer.sid === 'string' ? answer.sid : undefined;
  // Only where absent: a revocation's bypass mark, written meanwhile, stays.
  await answers.putIfAbsent(deps.store, key, { body: jsonBytes(answer).toString('utf8'), ...(sid ? { sid } : {}) }, ttl);
}

/**
 * `token` is being revoked through the broker: its introspections go to Keycloak from now on
 * (its entry becomes a bypass mark, in its canonical spelling: see `canonicalToken`).
 */
export async function tokenRevoked(deps: Deps, at: RealmAddress, token: string): Promise<void> {
  if (!deps.config.introspectionCache.maxAgeSeconds) return;
  await answers.put(deps.store, markKey(at, token), { bypass: true }, markTtl(deps));
}

/**
 * Keycloak did not revoke `token` after all (not a token it knows, or another client's): the
 * mark `tokenRevoked` wrote goes, so that nobody can fill the store with marks of made-up
 * tokens. The token's next introspection asks Keycloak, as after any miss.
 */
export async function tokenNotRevoked(deps: Deps, at: RealmAddress, token: string): Promise<void> {
  if (!deps.config.introspectionCache.maxAgeSeconds) return;
  await answers.delete(deps.store, markKey(at, token));
}

/**
 * Keycloak revoked `token` (a refresh token's revocation ends its session's client session):
 * the introspections of the session it names go to Keycloak from now on. The token is read
 * without checking it again: Keycloak has just accepted it, so only a real session is marked
 * (a made-up token, which Keycloak does not revoke, would let anyone write marks at will).
 */
export async function revokedTokenSessionEnded(deps: Deps, at: RealmAddress, token: string): Promise<void> {
  if (!deps.config.introspectionCache.maxAgeSeconds) return;
  let sid: unknown;
  try {
    sid = jose.decodeJwt(token).sid;
  } catch {
    return; // not a JWT: no session to name
  }
  if (typeof sid === 'string' && sid) await realmSessionEnded(deps, at, sid);
}

/** The realm session `sid` ended (a logout through the broker, or the realm's logout token). */
export async function realmSessionEnded(deps: Deps, at: RealmAddress, sid: string): Promise<void> {
  if (!deps.config.introspectionCache.maxAgeSeconds) return;
  await endedSessions.put(deps.store, sessionKey(at, sid), true, markTtl(deps));
}
