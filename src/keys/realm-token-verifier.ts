/**
 * Verifies Keycloak access tokens locally (DESIGN decision 2): the token's `iss` picks
 * the realm (decoded, not trusted), which must belong to the expected tenant; jose then
 * verifies signature, issuer, expiry and audience against that realm's JWKS. Each realm's
 * key set is cached by jose and refetched when an unknown `kid` appears, with a cooldown.
 */
import * as jose from 'jose';
import { BrokerError } from '../errors.js';
import type { Logger } from '../http/logger.js';
import { sampledWarning } from '../http/log-sampler.js';
import { assertRealmName } from '../tenancy/realm-name-check.js';
import type { TenantRegistry } from '../tenancy/registry.js';
import { isTenantRealm, type RealmEntry, type Tenant } from '../tenancy/tenant.js';
import type { Upstreams } from '../upstream/upstreams.js';
import { isTooLarge } from '../upstream/upstream-fetch.js';

type KeySet = ReturnType<typeof jose.createRemoteJWKSet>;

/** What Keycloak signs with (never `none`, never a MAC). */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

const invalid = (message: string, cause?: unknown) => new BrokerError('invalid_token', message, { cause });

export class RealmTokenVerifier {
  private readonly keySets = new Map<string, KeySet>();
  /** Warns (sampled) that a realm's id could not be checked (realm-name-check.ts). */
  private readonly unchecked?: (err: unknown) => void;

  constructor(
    private readonly upstreams: Upstreams,
    private readonly tenants: TenantRegistry,
    private readonly timeoutMs: number,
    log?: Logger,
  ) {
    this.unchecked = log && sampledWarning(log, 'could not check a realm\'s id with the admin API before keeping its keys');
  }

  /**
   * The key set of one realm, fetched from where the broker reaches Keycloak. Kept by the realm's
   * server, id and issuer, not its issuer alone: a realm named as another realm was a moment ago
   * has that issuer, and was given the other realm's cached keys, so the other realm's tokens,
   * which still carry that issuer, verified as its own (attack round 49's rename, followed here).
   */
  private keySet(realm: RealmEntry): KeySet {
    const id = JSON.stringify([realm.upstream, realm.id, realm.issuer]);
    let keys = this.keySets.get(id);
    if (!keys) {
      const upstream = this.upstreams.get(realm.upstream);
      const internal = upstream.realm(realm.realm).address.internalBase;
      keys = jose.createRemoteJWKSet(new URL(`${internal}/protocol/openid-connect/certs`), {
        // The request's deadline and the upstream's breaker. The body is read and parsed here:
        // jose reports a body that failed as it was read (over the size limit), or a 200 that is
        // not JSON, with no cause, as if Keycloak were unreachable (503); both are bad answers.
        [jose.customFetch]: async (url: string, init: RequestInit) => {
          const res = await upstream.fetch(url, init);
          const body = await res.arrayBuffer();
          if (res.status === 200) {
            try {
              JSON.parse(new TextDecoder().decode(body));
            } catch (err) {
              throw new BrokerError('upstream_bad_response', 'Keycloak sent an unusable key set', { cause: err });
            }
            // Fetched by name: kept only while it names the realm (realm-name-check.ts).
            await assertRealmName(this.upstreams, this.tenants, realm, this.unchecked);
          }
          return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
        },
        timeoutDuration: this.timeoutMs,
        cooldownDuration: 30_000,
        cacheMaxAge: 10 * 60_000,
      });
      this.keySets.set(id, keys);
    }
    return keys;
  }

  /** The realm that issued `token`, read without trusting it. */
  async issuingRealm(token: string): Promise<RealmEntry> {
    let iss: unknown;
    try {
      iss = jose.decodeJwt(token).iss;
    } catch (err) {
      throw invalid('The token is not a JWT', err);
    }
    const realm = typeof iss === 'string' ? await this.tenants.realmByIssuer(iss) : undefined;
    if (!realm) throw invalid('The token was not issued by a known realm');
    return realm;
  }

  /** Throws unless `realm` is the tenant's realm, or one it was moved from. */
  static assertBelongs(realm: RealmEntry, tenant: Tenant): void {
    if (!isTenantRealm(realm, tenant)) {
      throw invalid(`The token was issued for another tenant than ${tenant.slug}`);
    }
  }

  /**
   * Verifies a logout token a realm sent (OIDC Back-Channel Logout 1.0 §2.6): signed by
   * the realm named by its `iss`, with the back-channel logout event, a `sid` or `sub`, and
   * no nonce. Returns the realm and the claims. `began`: the realm to verify it with, and the
   * issuer it names, where that is not the realm's issuer now (a session begun before the realm
   * was renamed: backchannel-logout.ts).
   */
  async verifyLogoutToken(token: string, audiences: readonly string[], tenant?: Tenant, began?: { realm: RealmEntry; issuer: string }): Promise<{ realm: RealmEntry; claims: jose.JWTPayload }> {
    const realm = began?.realm ?? await this.issuingRealm(token);
    // At a tenant's issuer, only that tenant's realm may end sessions (as every other token).
    if (tenant) RealmTokenVerifier.assertBelongs(realm, tenant);
    try {
      const { payload } = await jose.jwtVerify(token, this.keySet(realm), { issuer: began?.issuer ?? realm.issuer, clockTolerance: 5, maxTokenAge: '5m' });
      // §2.6 step 3: the aud is validated as an ID token's, so it must name a client the broker
      // signs users in as (`audiences`). A client someone else added to the realm gets logout
      // tokens too, for the same sessions: they are the realm's, but not addressed to us.
      const aud = [payload.aud ?? []].flat();
      if (!aud.some((a) => audiences.includes(a))) throw invalid('The logout token is not addressed to the broker or one of its apps');
      // Keycloak types its logout tokens "Logout": an access ("Bearer") or ID token is none.
      if (payload.typ !== undefined && payload.typ !== 'Logout') throw invalid(typeof payload.typ === 'string' ? `Not a logout token (a ${payload.typ.slice(0, 32)} token)` : 'Not a logout token');
      const events = payload.events as Record<string, unknown> | undefined;
      if (!events || typeof events !== 'object' || !('http://schemas.openid.net/event/backchannel-logout' in events)) throw invalid('Not a logout token (no back-channel logout event)');
      if (payload.nonce !== undefined) throw invalid('A logout token carries no nonce');
      if (typeof payload.sid !== 'string' && typeof payload.sub !== 'string') throw invalid('A logout token names a sid or a sub');
      return { realm, claims: payload };
    } catch (err) {
      throw translateJoseError(err);
    }
  }

  /**
   * Throws unless `token`, which a realm has just sent the broker, is signed by the keys of a
   * realm of `tenant` (its realm or one it moved from), as its `iss` names it: which realm
   * answered a call made by the realm's name (realm-name-check.ts): before a realm token becomes
   * a broker ID token, is handed out from a password grant or a code login, or is cached.
   */
  async assertIssuedBy(token: string, tenant: Tenant): Promise<void> {
    try {
      const realm = await this.issuingRealm(token);
      RealmTokenVerifier.assertBelongs(realm, tenant);
      await jose.jwtVerify(token, this.keySet(realm), { issuer: realm.issuer, algorithms: ALGORITHMS, clockTolerance: 5 });
    } catch (err) {
      const failure = translateJoseError(err);
      // Keycloak's own answer, not the caller's token: a failure other than Keycloak's (down, a
      // realm found renamed: 503) is an answer the broker cannot pass on as the tenant's (502).
      if (failure.isUpstreamFailure) throw failure;
      throw new BrokerError('upstream_bad_response', 'The identity service answered with a token that is not the organisation\'s', { cause: err });
    }
  }

  /** Verifies a bearer access token of `tenant`; returns its claims. */
  async verifyAccessToken(token: string, tenant: Tenant, audience?: string): Promise<jose.JWTPayload> {
    const realm = await this.issuingRealm(token);
    RealmTokenVerifier.assertBelongs(realm, tenant);
    try {
      const { payload } = await jose.jwtVerify(token, this.keySet(realm), {
        issuer: realm.issuer,
        audience,
        algorithms: ALGORITHMS,
        requiredClaims: ['sub', 'exp'],
        clockTolerance: 5,
      });
      // Keycloak marks access tokens "Bearer"; ID tokens ("ID") and others are refused.
      if (payload.typ !== undefined && payload.typ !== 'Bearer') throw invalid('Not an access token');
      return payload;
    } catch (err) {
      throw translateJoseError(err);
    }
  }
}

function translateJoseError(err: unknown): BrokerError {
  if (err instanceof BrokerError) return err;
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'ERR_JWKS_TIMEOUT':
      return new BrokerError('upstream_timeout', 'Keycloak did not send its keys in time', { cause: err, retryAfter: 5 });
    case 'ERR_JWT_EXPIRED':
      return invalid('The token has expired', err);
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return invalid(`The token's ${(err as jose.errors.JWTClaimValidationFailed).claim} claim is not valid here`, err);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return invalid('The token signature is not valid', err);
    case 'ERR_JWKS_INVALID':
      return new BrokerError('upstream_bad_response', 'Keycloak sent an unusable key set', { cause: err });
    default:
      // A key set over the fetch's size limit is an answer, and an unusable one.
      if (isTooLarge(err)) return new BrokerError('upstream_bad_response', 'Keycloak sent an unusable key set', { cause: err });
      // A failed key-set fetch (Keycloak down) is an upstream failure, not the caller's.
      if (err instanceof TypeError || code === 'ERR_JOSE_GENERIC') {
        return new BrokerError('upstream_unavailable', 'Keycloak keys are unreachable', { cause: err, retryAfter: 5 });
      }
      return invalid('The token is not valid', err);
  }
}
