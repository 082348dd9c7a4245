/**
 * The records of a sign-in, all in the store so that any replica can continue it, each
 * a typed record kind with its own key prefix and lifetime:
 * - a login transaction (`tx:`), from authorize to the realm's callback (10 minutes),
 *   bound to the browser that started it (browser-binding.ts);
 * - a broker authorization code (`code:`), single-use, 60 seconds, bound to the client,
 *   the redirect URI and the PKCE challenge; `code-used:` remembers a redeemed one;
 * - an SSO session (`sso:`), named by the broker's cookie;
 * - a device grant (`device:`), its user code (`user-code:`), its poll pacing, the
 *   signed-in user's pending consent (`device-consent:`) and their answer (`device-answer:`).
 * What a stranger can make (a transaction, a pushed request, a device code and what goes with
 * it) is under PENDING_PREFIX (store.ts): kept apart from sessions and codes, and from what a
 * signed-in user's click made.
 */
import { randomBytes } from 'node:crypto';
import { RecordKind } from '../../store/record.js';
import { PENDING_PREFIX } from '../../store/store.js';
import type { TokenResponse } from '../../upstream/realm-connector.js';

export const TX_TTL = 600;
export const CODE_TTL = 60;
export const SSO_TTL = 8 * 3600;
/** How long a signed-in user has to click Allow or Deny for a device. */
export const CONSENT_TTL = 300;
/** A pushed authorization request's life (RFC 9126 §2.2: short). */
export const PAR_TTL = 60;

export const randomId = (bytes = 32) => randomBytes(bytes).toString('base64url');

export interface LoginTransaction {
  issuer: string;
  issuerPath: string;
  clientId: string;
  redirectUri: string;
  scope: string;
  state?: string;
  nonce?: string;
  codeChallenge?: string;
  prompt?: string;
  /** Passed on to the realm, which enforces them (OIDC Core §3.1.2.1). */
  maxAge?: string;
  acrValues?: string;
  /** Fixed for a tenant issuer; chosen by email discovery for the platform. */
  tenant?: string;
  /** The realm the browser was sent to: the callback redeems the code there even if the tenant moved meanwhile. */
  upstream?: string;
  realm?: string;
  /** The form token of the sign-in pages (email, chooser). */
  csrf: string;
  /**
   * When the transaction ends (ms), whatever is written on it meanwhile: each page that
   * rewrites it keeps this, so re-posting a form cannot keep one alive for ever (the chooser
   * did: attack helper round 26).
   */
  expiresAt: number;
  /** Hash of the binding cookie of the browser that started the sign-in. */
  browser: string;
  /** The broker's own PKCE and nonce towards the realm. */
  realmVerifier: string;
  realmNonce: string;
  /** Set when the sign-in is for approving a device: its device code. */
  device?: string;
  /** Set by email discovery: the address typed and the tenants offered. */
  email?: string;
  choices?: string[];
}

/** A device authorization (RFC 8628), from device/authorize to the device's last poll. */
export interface DeviceGrant {
  issuer: string;
  clientId: string;
  scope: string;
  userCode: string;
  status: 'pending' | 'approved' | 'denied';
  expiresAt: number;
  interval: number;
  tenant?: string;
  tokens?: TokenResponse;
}

/**
 * A signed-in user's sign-in for a device, waiting for their click on the page that shows
 * the code, the app and the scopes. Only the same browser and the same SSO user may
 * answer it, once.
 */
export interface DeviceConsent {
  deviceCode: string;
  /** The issuer the device code is of: the one whose device page alone takes the answer. */
  issuer: string;
  tenant: string;
  sub: string;
  browser: string;
  csrf: string;
  tokens: TokenResponse;
}

/** A pushed authorization request (RFC 9126), checked, waiting for its authorize. */
export interface PushedRequest {
  issuer: string;
  params: import('./authorization-request.js').AuthorizationParams;
}

export interface AuthorizationCode {
  issuer: string;
  clientId: string;
  redirectUri: string;
  codeChallenge?: string;
  nonce?: string;
  tenant: string;
  tokens: TokenResponse;
}

export interface SsoSession {
  tenant: string;
  /** The tenant's id at sign-in: the platform issuer's `sub` is scoped to it (keys/platform-subject.ts). */
  tenantId?: string;
  /** The realm's user id. */
  sub: string;
  email?: string;
  /** The realm session, to end it at logout, and where it lives (the tenant may move meanwhile). */
  realmSessionId?: string;
  upstream?: string;
  realm?: string;
  /** The realm's id (its name is its admin's to change): what the introspection cache's marks are keyed by. */
  realmId?: string;
  realmIdToken?: string;
  /** The apps this session signed in (and at which issuer): told by back-channel logout when it ends. */
  clients?: { clientId: string; issuer: string }[];
  /** Earlier sessions of this browser (another tenant or user): a logout here ends them too. */
  linked?: string[];
}

export const records = {
  tx: new RecordKind<LoginTransaction>(`${PENDING_PREFIX}tx`, TX_TTL),
  code: new RecordKind<AuthorizationCode>('code', CODE_TTL),
  pushedRequest: new RecordKind<PushedRequest>(`${PENDING_PREFIX}par`, PAR_TTL),
  /**
   * A redeemed code: seen again, what it issued is revoked (RFC 6749 §4.1.2), as the client it
   * was issued to (whoever sends it again: Keycloak revokes a client's tokens for that client only).
   */
  codeUsed: new RecordKind<{ tenant: string; clientId: string; refreshToken?: string }>('code-used', 600),
  sso: new RecordKind<SsoSession>('sso', SSO_TTL),
  /**
   * The broker session a sign-in in this browser (by its binding's hash) wrote last: what the
   * next sign-in there joins or links, even before the first one's cookie came back (sso-open.ts).
   */
  latestSsoOfBrowser: new RecordKind<string>('sso-of-browser', TX_TTL),
  /**
   * A broker session its realm ended (a logout token): the one of its linked sessions that took
   * them over, where the browser's current-session lookup goes on (sso-open.ts handOverLinked).
   */
  ssoHeir: new RecordKind<string>('sso-heir', SSO_TTL),
  /**
   * The newer session of the same browser that links this one: what a sign-out naming an older
   * session by its hint alone (no cookie came) climbs to, to end the browser's whole set.
   */
  ssoLinkedBy: new RecordKind<string>('sso-linked-by', SSO_TTL),
  /** A browser's turn to change its broker session (a lease, sso-open.ts). */
  ssoTurn: new RecordKind<never>('sso-turn'),
  /**
   * A realm session the broker has ended (by a hash of its server, realm and sid): a sign-out
   * that names it again calls Keycloak no more. A used hint can be sent again without end (an
   * attack of 2026-12-06 sent 22,000, each a DELETE at Keycloak's admin API).
   */
  realmSessionEnded: new RecordKind<true>('realm-session-ended', 24 * 3600),
  /** The broker session of a realm session (by a digest of its server and its sid: session-end.ts realmSessionKey): a realm's logout token names the latter. */
  ssoOfRealmSession: new RecordKind<string>('sso-of', SSO_TTL),
  device: new RecordKind<DeviceGrant>(`${PENDING_PREFIX}device`),
  userCode: new RecordKind<string>(`${PENDING_PREFIX}user-code`),
  /** Present while a device must wait before polling again. */
  devicePoll: new RecordKind<number>(`${PENDING_PREFIX}device-poll`),
  /** How many times a device polled too fast: each adds 5 s to its interval (RFC 8628 §3.5). */
  deviceSlowDowns: new RecordKind<number>(`${PENDING_PREFIX}device-slow`),
  /**
   * The device's answer (its tokens, or the denial), written once: of two browsers answering one
   * code at once, the first wins. Like the consents below it is made by a signed-in user and
   * holds tokens, so it is not under PENDING_PREFIX, where a stranger's flood could evict it
   * after the user saw "Device connected" (attack helper round 26).
   */
  deviceAnswer: new RecordKind<DeviceGrant>('device-answer'),
  deviceConsent: new RecordKind<DeviceConsent>('device-consent', CONSENT_TTL),
  /** The consent a device code's sign-in is holding (its id), for the JSON deny. */
  deviceConsentOfCode: new RecordKind<string>('device-consent-of', CONSENT_TTL),
};
