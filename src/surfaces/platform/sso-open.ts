/**
 * Opens or joins this browser's broker session at the end of a sign-in (callback.ts).
 *
 * One broker session per browser and user: a second app signed in through the same session
 * joins it, so that ending it (anywhere) reaches every app (session-end.ts); a sign-in as
 * another user or tenant starts a new one that keeps the earlier ones linked, so that signing
 * out ends every session the browser holds.
 *
 * The record is read, changed and written whole. Two sign-ins finishing at the same moment in
 * one browser (two tabs, two apps) each read the session as it was: the last write dropped the
 * other's app from the back-channel list, or left the other's new session linked from nowhere,
 * so that the browser's sign-out did not reach it. So a browser's sign-ins take their turn here
 * (a short lease on the browser binding's hash), and each reads the session the one before it
 * wrote (the browser's latest, recorded by binding hash) rather than the cookie its request
 * carried, which was sent before the other's answer came back.
 */
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import type { CookieJar } from '../../http/cookies.js';
import { takeLease, type Lease } from '../../store/lease.js';
import { browserOf } from './browser-binding.js';
import { endSsoSession, realmSessionKeyOf, ssoOfRealmSession } from './session-end.js';
import { randomId, records, SSO_TTL, type SsoSession } from './transactions.js';

/** The other sessions one browser's broker session keeps linked. */
const MAX_LINKED = 8;
/** A callback holds the turn for a few store calls; a holder that died frees it after this. */
const TURN_TTL = 10;
/** How long a sign-in waits for its turn before it goes on without one (the race is then possible, the sign-in not lost). */
const TURN_WAIT_MS = 3000;
const TURN_POLL_MS = 25;

export type SsoEntry = { id: string; sso: SsoSession };

/**
 * This browser's current broker session: the latest one a sign-in here wrote, else its cookie's;
 * when its realm ended that one, the linked session that took over from it.
 */
export async function currentSsoEntry(deps: Deps, jar: CookieJar, ctx: Koa.Context): Promise<SsoEntry | undefined> {
  const browser = browserOf(jar, ctx);
  const latest = browser ? await records.latestSsoOfBrowser.get(deps.store, browser) : undefined;
  for (const named of [latest, jar.get(ctx, 'rb_sso')]) {
    // Each hand-over shortens the linked list, so the chain ends within MAX_LINKED steps.
    for (let id = named, step = 0; id && step <= MAX_LINKED; id = await records.ssoHeir.get(deps.store, id), step++) {
      const sso = await records.sso.get(deps.store, id);
      if (sso) return { id, sso };
    }
  }
  return undefined;
}

/**
 * Whether the realm session `sso` is built on is ending: its back-channel logout took the realm
 * session's record first. Two of a browser's sessions ended by their realms at once otherwise
 * handed their links to each other, and both ended: the sessions they linked were out of the
 * browser's reach (6 in 20 trials with sessions that link each other: attack round 45).
 */
async function realmSessionEnding(deps: Deps, id: string, sso: SsoSession): Promise<boolean> {
  const key = realmSessionKeyOf(sso);
  return key !== undefined && (await records.ssoOfRealmSession.get(deps.store, key)) !== id;
}

/**
 * A session of this browser that its realm ended (a logout token: the user signed out at the
 * realm, or its admin ended the session) hands the sessions it kept linked to the most recent
 * of them still alive, which the browser then finds through it. The browser's sign-out found
 * nothing before, and left them signed in, realm sessions and refresh tokens too: linked from
 * a session that was gone. The heir keeps the lifetime it had, and is changed only while it
 * lives: its own realm may be ending it at this moment, and a plain write brought back a session
 * whose realm session was gone, as the browser's current one (1 in 20 trials: attack round 43).
 */
export async function handOverLinked(deps: Deps, endedId: string, ended: SsoSession): Promise<void> {
  const rest = [...(ended.linked ?? [])];
  for (let id = rest.shift(); id; id = rest.shift()) {
    const heir = await records.sso.get(deps.store, id);
    if (!heir || await realmSessionEnding(deps, id, heir)) continue;
    const linked = [...new Set([...rest, ...(heir.linked ?? [])])].filter((other) => other !== id && other !== endedId);
    if (!(await records.sso.replace(deps.store, id, { ...heir, linked: linked.length ? linked : undefined }))) continue;
    await records.ssoHeir.put(deps.store, endedId, id);
    return;
  }
}

/**
 * The browser's sessions newer than `id` that link it, up to the newest (a session its realm
 * ended is passed through to its heir). A sign-out that names an older session by its hint, from
 * an app's back end or a page on another site (no cookie: SameSite=Lax), ended that session and
 * the older ones it links, and left the newer ones: after a browser restart, app 1's sign-out
 * ended its realm session and left the same user signed in through app 2, whose next sign-in at
 * app 1 asked no password (attack round 46).
 */
export async function newerSessionsOf(deps: Deps, id: string): Promise<string[]> {
  const found: string[] = [];
  const seen = new Set([id]);
  for (let at = id, step = 0; step <= MAX_LINKED; step++) {
    let up = await records.ssoLinkedBy.get(deps.store, at);
    for (let hop = 0; up && hop <= MAX_LINKED && !(await records.sso.get(deps.store, up)); hop++) up = await records.ssoHeir.get(deps.store, up);
    if (!up || seen.has(up)) break;
    seen.add(up);
    found.push(up);
    at = up;
  }
  return found;
}

export async function currentSso(deps: Deps, jar: CookieJar, ctx: Koa.Context): Promise<SsoSession | undefined> {
  return (await currentSsoEntry(deps, jar, ctx))?.sso;
}

/**
 * Whether this browser holds a session of `sub` at `tenant`: its current one or one linked to it.
 * A later sign-in as someone else in the same browser links the earlier sessions, which stay
 * signed in (attack round 37: a device approval open in one tab was refused as "not signed in"
 * once another tenant's sign-in finished in the other).
 */
export async function holdsSessionOf(deps: Deps, current: SsoEntry | undefined, sub: string, tenant: string): Promise<boolean> {
  if (!current) return false;
  if (current.sso.sub === sub && current.sso.tenant === tenant) return true;
  for (const id of current.sso.linked ?? []) {
    const linked = await records.sso.get(deps.store, id);
    if (linked?.sub === sub && linked.tenant === tenant) return true;
  }
  return false;
}

export type SignedIn = Omit<SsoSession, 'clients' | 'linked'> & { client: { clientId: string; issuer: string } };

/** Records the sign-in in this browser's session (joined or new); sets the cookie; returns the session. */
export async function openSsoSession(deps: Deps, jar: CookieJar, ctx: Koa.Context, browser: string, signedIn: SignedIn): Promise<SsoSession> {
  const lease = await turnOf(deps, browser);
  try {
    const current = await currentSsoEntry(deps, jar, ctx);
    const realmSession = realmSessionKeyOf(signedIn);
    // The broker session built on this sign-in's realm session, whichever of the browser's it is;
    // else (a realm that names no session) the browser's current one, when it is this user's.
    const joined = await sessionOnRealmSession(deps, signedIn)
      ?? (sameUser(current, signedIn) && !otherRealmSession(current.sso, signedIn) ? current : undefined);
    const { client, ...session } = signedIn;
    // A sign-in at another tenant in the same browser: the earlier sessions stay linked (and the
    // browser's current one with them, when this sign-in joins an earlier session of its own).
    const others = joined?.id === current?.id ? joined?.sso.linked ?? [] : [current?.id, ...(current?.sso.linked ?? []), ...(joined?.sso.linked ?? [])];
    const linked = [...new Set(others)].filter((id): id is string => id !== undefined && id !== joined?.id);
    const sso: SsoSession = {
      ...session,
      clients: [...(joined?.sso.clients ?? []).filter((c) => c.clientId !== client.clientId || c.issuer !== client.issuer), client],
      linked: linked.length ? linked : undefined,
    };
    // Most recent first, and bounded: past MAX_LINKED the oldest are ended, not forgotten. A
    // session this browser's sign-out no longer reaches must not outlive it (the ninth account
    // signed in one after another kept the first signed in: attack helper, 2026-12-06).
    for (const id of sso.linked?.splice(MAX_LINKED) ?? []) await endSsoSession(deps, id, { endRealmSession: true });
    const ssoId = joined?.id ?? randomId();
    await records.sso.put(deps.store, ssoId, sso);
    // A sign-in that joins the browser's current session links nothing new: those records name it already.
    if (joined?.id !== current?.id) await Promise.all((sso.linked ?? []).map((id) => records.ssoLinkedBy.put(deps.store, id, ssoId)));
    await records.latestSsoOfBrowser.put(deps.store, browser, ssoId);
    if (realmSession) await records.ssoOfRealmSession.put(deps.store, realmSession, ssoId);
    jar.set(ctx, 'rb_sso', ssoId, SSO_TTL);
    return sso;
  } finally {
    // A release the store does not take is let go: the turn ends with its TTL all the same.
    await lease?.release().catch(() => {});
  }
}

const sameUser = (entry: SsoEntry | undefined, signedIn: SignedIn): entry is SsoEntry =>
  entry !== undefined && entry.sso.sub === signedIn.sub && entry.sso.tenant === signedIn.tenant;

/**
 * One broker session per realm session: it ends when its realm session ends, and every app it
 * signed in is told, under the `sid` its ID token carried.
 * - A sign-in through a realm session a broker session is built on joins it, whether or not it
 *   is the browser's current one: a browser signed in at tenant a, then at b, then at a again,
 *   and Keycloak reused the first realm session. A second session on it took the realm session's
 *   record from the first, so that the realm's logout ended only the second: the first one's apps
 *   were never told and it stayed signed in, counting for device approvals (attack round 43).
 *   Only this browser can hold that realm session: its id came from the realm, in the ID token of
 *   this sign-in.
 * - A sign-in of the same user through another realm session (the browser's Keycloak cookie gone
 *   with a restart, the broker's kept) starts a session of its own, linked: joined, the first
 *   realm session was forgotten, and the browser's sign-out left it, and its app's refresh
 *   token, alive (round 45).
 */
const otherRealmSession = (a: SsoSession, b: SignedIn) => a.realmSessionId !== undefined && b.realmSessionId !== undefined
  && (a.realmSessionId !== b.realmSessionId || a.upstream !== b.upstream || !sameRealmOf(a, b));

/** By id where both sessions have it (a renamed realm is the same realm), by name for sessions recorded before. */
const sameRealmOf = (a: SsoSession, b: SignedIn) => a.realmId !== undefined && b.realmId !== undefined
  ? a.realmId.toLowerCase() === b.realmId.toLowerCase() : a.realm === b.realm;

async function sessionOnRealmSession(deps: Deps, signedIn: SignedIn): Promise<SsoEntry | undefined> {
  const id = await ssoOfRealmSession(deps, signedIn);
  const sso = id ? await records.sso.get(deps.store, id) : undefined;
  return id && sso && sameUser({ id, sso }, signedIn) && sameRealmOf(sso, signedIn) ? { id, sso } : undefined;
}

/** This browser's turn, or undefined when another sign-in of it held the turn past the wait. */
async function turnOf(deps: Deps, browser: string): Promise<Lease | undefined> {
  const key = records.ssoTurn.key(browser);
  const until = Date.now() + TURN_WAIT_MS;
  for (;;) {
    const taken = await takeLease(deps.store, key, true, TURN_TTL);
    if ('lease' in taken) return taken.lease;
    if (Date.now() >= until) {
      deps.log.warn('a sign-in waited past its turn at its browser\'s broker session and went on without it');
      return undefined;
    }
    await new Promise((resolve) => setTimeout(resolve, TURN_POLL_MS));
  }
}
