/**
 * Ending a broker SSO session, whatever ended it (RP-initiated logout at any app, a realm's
 * logout token, an admin), and telling every app of the session that registered a
 * `backchannelLogoutUri` (OIDC Back-Channel Logout 1.0 §2.5): a logout token signed by the
 * broker, under the issuer that app signed in at, with the session's `sid` (the one its ID
 * token carried) and `sub`. So a user who signs out in one tenant's app is signed out of the
 * GLOBAL apps that used the same session, across realms and servers.
 *
 * Deliveries run in the background (the user's logout does not wait for the apps), each
 * retried a bounded number of times; failures are logged and counted.
 */
import { randomUUID } from 'node:crypto';
import * as jose from 'jose';
import type { Deps } from '../../deps.js';
import { realmSessionEnded, type RealmAddress } from '../shared/introspection.js';
import { isRealmSessionId } from '../../upstream/admin-connector.js';
import { digestKey } from '../../store/digest-key.js';
import { platformSubject } from '../../keys/platform-subject.js';
import { platformIssuerContext } from './issuer.js';
import { findApp } from './sign-in.js';
import { records, type SsoSession } from './transactions.js';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const ATTEMPTS = 3;
const BACKOFF_MS = [0, 1000, 3000];
const TIMEOUT_MS = 3000;

/**
 * The key under which a realm session finds its broker session: its server and its id, which
 * Keycloak makes unique on the server. Not its realm's issuer: the realm's admin can rename the
 * realm (and a session's logout token names the issuer it began under, whatever the realm is
 * called by then). A record found so is the realm's only when its session's realm id is the
 * one that signed (backchannel-logout.ts).
 */
export const realmSessionKey = (upstream: string, sid: string) => digestKey(upstream, sid);

/** The realm session a session (or a sign-in) is built on. */
export type RealmSessionOf = Pick<SsoSession, 'realmSessionId' | 'upstream'>;

/**
 * The key to record a sign-in's realm session under; undefined when it names none. A session
 * recorded by a broker before this key (by issuer) is not found by its realm's logout token: it
 * ends with its app's or its browser's sign-out, or after SSO_TTL.
 */
export function realmSessionKeyOf(s: RealmSessionOf): string | undefined {
  return s.realmSessionId && s.upstream ? realmSessionKey(s.upstream, s.realmSessionId) : undefined;
}

/** The broker session recorded for the realm session `s` is built on. */
export async function ssoOfRealmSession(deps: Deps, s: RealmSessionOf): Promise<string | undefined> {
  const key = realmSessionKeyOf(s);
  return key === undefined ? undefined : records.ssoOfRealmSession.get(deps.store, key);
}

/**
 * The `sub` that the issuer `issuer` said for the user of a broker session: the tenant-scoped one
 * at the platform issuer, the realm's at a tenant's own (keys/platform-subject.ts). Undefined
 * when it cannot be known (a session recorded before the tenant id was, of a tenant gone since).
 */
export async function subjectOfSession(deps: Deps, sso: SsoSession, issuer: unknown): Promise<string | undefined> {
  if (issuer !== platformIssuerContext(deps).issuer) return sso.sub;
  const tenantId = sso.tenantId ?? (await deps.tenants.bySlug(sso.tenant))?.id;
  return tenantId === undefined ? undefined : platformSubject(tenantId, sso.sub);
}

/**
 * The broker session an ID token of ours names by its `sid` (the realm session's, as the realm
 * said it at sign-in) and tenant, when it is that token's user's.
 */
export async function ssoNamedBy(deps: Deps, claims: { iss?: unknown; sid?: unknown; sub?: unknown; tenant?: unknown }): Promise<{ id: string; sso: SsoSession } | undefined> {
  if (typeof claims.sid !== 'string' || typeof claims.tenant !== 'string' || typeof claims.sub !== 'string') return undefined;
  const tenant = await deps.tenants.bySlug(claims.tenant);
  if (!tenant) return undefined;
  const id = await ssoOfRealmSession(deps, { realmSessionId: claims.sid, upstream: tenant.upstream });
  const sso = id ? await records.sso.get(deps.store, id) : undefined;
  return id && sso && sso.tenant === claims.tenant && (await subjectOfSession(deps, sso, claims.iss)) === claims.sub ? { id, sso } : undefined;
}

/**
 * Ends the broker session `ssoId` (once: of two concurrent ends, one does it) and notifies
 * its apps; with `endLinked` (the user signing out in this browser), the browser's other
 * sessions too, at whatever realm and server.
 */
export async function endSsoSession(deps: Deps, ssoId: string, o: { endRealmSession: boolean; endLinked?: boolean }): Promise<SsoSession | undefined> {
  const sso = await records.sso.take(deps.store, ssoId);
  if (!sso) return undefined;
  if (o.endLinked) for (const id of sso.linked ?? []) await endSsoSession(deps, id, { endRealmSession: o.endRealmSession });
  if (o.endRealmSession && sso.realmSessionId) {
    // Sessions opened before their realm's id was kept (realmId) take their tenant's.
    const tenant = sso.upstream && sso.realm && sso.realmId ? undefined : await deps.tenants.bySlug(sso.tenant);
    const upstream = sso.upstream ?? tenant?.upstream;
    const realm = sso.realm ?? tenant?.realm;
    const id = sso.realmId ?? tenant?.id;
    if (upstream && realm && id) await endRealmSession(deps, { upstream, realm, id }, sso.realmSessionId);
  }
  // In the background; it settles every target itself, and a failure it did not expect is logged,
  // never left to reject unheard (an unhandled rejection ends the process).
  void notifyApps(deps, sso).catch((err: unknown) => deps.log.error('back-channel logout: the deliveries failed', { err }));
  return sso;
}

/**
 * Ends the realm session an ID token of ours names (`sid`, at its tenant), for a sign-out whose
 * broker session is no longer kept: it lives SSO_TTL (8 h), a realm's session may live longer
 * (Keycloak's default maximum is 10 h), and the next sign-in in that browser would then be
 * silent. The token is the broker's own (its signature checked by the caller).
 */
export async function endRealmSessionNamedBy(deps: Deps, claims: Readonly<Record<string, unknown>>): Promise<void> {
  if (!isRealmSessionId(claims.sid) || typeof claims.tenant !== 'string') return;
  const tenant = await deps.tenants.bySlug(claims.tenant);
  if (tenant) await endRealmSession(deps, tenant, claims.sid);
}

/** Ends a realm session at its server, once: a session ended before is not asked of Keycloak again. */
async function endRealmSession(deps: Deps, at: RealmAddress, sid: string): Promise<void> {
  const id = digestKey(at.upstream, at.id.toLowerCase(), sid);
  if (!(await records.realmSessionEnded.putIfAbsent(deps.store, id, true))) return;
  await realmSessionEnded(deps, at, sid);
  await deps.upstreams.get(at.upstream).admin.endSession(at.realm, sid).catch(async (err: unknown) => {
    deps.log.warn('could not end a realm session at logout', { err });
    // Not ended: the next sign-out that names it tries again.
    await records.realmSessionEnded.delete(deps.store, id).catch(() => {});
  });
}

/** The logout token for one app of the session (undefined: the session names no sid nor sub for it). */
async function logoutToken(deps: Deps, sso: SsoSession, t: { clientId: string; issuer: string }): Promise<string | undefined> {
  // The sub that issuer put in the app's ID token; a logout token names a sid or a sub (§2.4).
  const sub = await subjectOfSession(deps, sso, t.issuer);
  if (sub === undefined && !sso.realmSessionId) return undefined;
  const key = await deps.signingKeys.get();
  const logout = new jose.SignJWT({ events: { [EVENT]: {} }, ...(sso.realmSessionId ? { sid: sso.realmSessionId } : {}), tenant: sso.tenant })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'logout+jwt' })
    .setIssuer(t.issuer).setAudience(t.clientId).setIssuedAt().setExpirationTime('2m').setJti(randomUUID());
  return (sub === undefined ? logout : logout.setSubject(sub)).sign(key.privateKey);
}

async function notifyApps(deps: Deps, sso: SsoSession): Promise<void> {
  const targets = (sso.clients ?? [])
    .map((c) => ({ ...c, uri: findApp(deps, c.clientId)?.backchannelLogoutUri }))
    .filter((c): c is { clientId: string; issuer: string; uri: string } => typeof c.uri === 'string');
  await Promise.all(targets.map(async (t) => {
    let token: string | undefined;
    try {
      token = await logoutToken(deps, sso, t);
    } catch (err) {
      // The signing key unreadable (the store down a moment): this app is not told. Counted.
      deps.metrics.backchannelDeliveries.inc({ outcome: 'failed' });
      deps.log.warn('back-channel logout not delivered: no logout token could be made', { clientId: t.clientId, err });
      return;
    }
    if (token === undefined) return;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (BACKOFF_MS[attempt]) await new Promise((r) => setTimeout(r, BACKOFF_MS[attempt]));
      try {
        const res = await fetch(t.uri, {
          method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ logout_token: token }), signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'manual',
        });
        if (res.ok) {
          deps.metrics.backchannelDeliveries.inc({ outcome: 'ok' });
          return;
        }
        // 4xx: the app refused this token; a retry would be refused the same way.
        if (res.status < 500) break;
      } catch {
        // network failure or timeout: retried
      }
    }
    deps.metrics.backchannelDeliveries.inc({ outcome: 'failed' });
    deps.log.warn('back-channel logout not delivered', { clientId: t.clientId, attempts: ATTEMPTS });
  }));
}
