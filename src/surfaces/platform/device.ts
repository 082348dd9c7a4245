/**
 * Device authorization (RFC 8628) for GLOBAL apps, whose user's tenant is unknown until
 * they sign in.
 *
 * The broker issues the device and user codes itself. The person's path, in one browser:
 *   1. the code page (…/device): they type the code (CSRF-checked, counted per address);
 *   2. they sign in (email discovery, their realm's login; an SSO session skips the
 *      password), as the device's client, in a transaction bound to this browser;
 *   3. the callback holds the realm's tokens and shows the approval page: the code, the
 *      app, the scopes and who they are signed in as;
 *   4. their click on Allow or Deny (POST …/device/verify) answers the device, and only
 *      from the same browser, with the same signed-in user, once.
 * Nothing an attacker can send someone (a link, a realm URL) approves a device: the
 * approval needs that person's session and click on a page that shows the code
 * (RFC 8628 §5.4), and the sign-in cannot be finished in another browser (RFC 9700 §4.7).
 *
 * We use the realm's authorization-code flow (PKCE, the user's realm session) rather than
 * Keycloak's device grant: that would add Keycloak's own consent page and end there.
 * Everything lives in the store, so the device may poll any replica.
 */
import { randomInt } from 'node:crypto';
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import type { CookieJar } from '../../http/cookies.js';
import { checkFormCsrf, formCsrfToken } from '../../http/form-csrf.js';
import { clientAddress } from '../../http/client-address.js';
import { sameSecret } from '../../http/same-secret.js';
import { inputOf } from '../../http/state.js';
import { MAX_LENGTH } from './authorization-request.js';
import { deviceAuthorizeInput, deviceVerifyInput } from './schemas.js';
import { deviceApprovePage, deviceEntryPage, deviceResultPage } from '../../ui/pages.js';
import { isSameBrowser } from './browser-binding.js';
import type { AuthenticatedClient } from './client-auth.js';
import type { IssuerContext } from './issuer.js';
import { appName, realmOrigins, routeSignIn, startTransaction } from './sign-in.js';
import { currentSso, currentSsoEntry, holdsSessionOf } from './sso-open.js';
import { CONSENT_TTL, randomId, records, type DeviceGrant } from './transactions.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** 20 consonants (no vowels: no words; no look-alikes such as I/1, O/0). RFC 8628 §6.1. */
const ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

export function newUserCode(): string {
  let code = '';
  for (let i = 0; i < 8; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** Case and dashes (and spaces) do not matter when a person types the code. */
export function normalizeUserCode(input: string): string {
  return input.toUpperCase().replace(/[^A-Z]/g, '');
}

const secondsLeft = (grant: DeviceGrant) => Math.max(1, Math.ceil((grant.expiresAt - Date.now()) / 1000));

/** POST …/device/authorize (RFC 8628 §3.1, §3.2). */
export function deviceAuthorize(deps: Deps): Koa.Middleware {
  const { deviceCodeTtlSeconds: ttl, deviceIntervalSeconds: interval } = deps.config.platform;
  return async function deviceAuthorize(ctx) {
    const client: AuthenticatedClient = ctx.state.client;
    const iss: IssuerContext = ctx.state.issuer;
    if (!client.app.grantTypes.includes(DEVICE_GRANT)) throw new BrokerError('unauthorized_client', `${client.clientId} may not use the device flow`);
    const scope = inputOf(ctx, deviceAuthorizeInput).scope ?? 'openid';
    // Kept with the device code for its life, as an authorization request's (attack helper, 2026-12-06).
    if (scope.length > MAX_LENGTH.scope!) throw new BrokerError('invalid_scope', `scope is longer than ${MAX_LENGTH.scope} characters`);
    if (!scope.split(' ').includes('openid')) throw new BrokerError('invalid_scope', 'The openid scope is required');
    // Each device code is state kept for anyone who asks: counted per address first.
    await deps.limits.deviceStart.consume(clientAddress(ctx));
    const deviceCode = randomId();
    let userCode = newUserCode();
    // A clash of user codes is unlikely (20^8); take another rather than share one.
    for (let i = 0; !(await records.userCode.putIfAbsent(deps.store, normalizeUserCode(userCode), deviceCode, ttl)) && i < 5; i++) userCode = newUserCode();
    const grant: DeviceGrant = {
      issuer: iss.issuer, clientId: client.clientId, scope, userCode, status: 'pending', expiresAt: Date.now() + ttl * 1000, interval,
    };
    await records.device.put(deps.store, deviceCode, grant, ttl + 60);
    const verificationUri = `${iss.issuer}/device`;
    ctx.body = {
      device_code: deviceCode,
      user_code: userCode,
      verification_uri: verificationUri,
      verification_uri_complete: `${verificationUri}?user_code=${encodeURIComponent(userCode)}`,
      expires_in: ttl,
      interval,
    };
  };
}

/**
 * The pending grant a user code names, or a clear error. Every entry is counted per
 * address before it is looked up (a right one is given back), so parallel guesses
 * cannot outrun the limit.
 */
async function grantOfUserCode(deps: Deps, ctx: Koa.Context, userCode: string): Promise<{ deviceCode: string; grant: DeviceGrant }> {
  const counted = await deps.limits.userCode.consume(clientAddress(ctx));
  const normalized = normalizeUserCode(userCode);
  const deviceCode = normalized.length === 8 ? await records.userCode.get(deps.store, normalized) : undefined;
  const grant = deviceCode ? await records.device.get(deps.store, deviceCode) : undefined;
  // A code is approved only at the issuer that issued it: a tenant's device page signs in
  // that tenant's users, and its ID token must not vouch for anyone else.
  const here = (ctx.state.issuer as IssuerContext).issuer;
  if (!deviceCode || !grant || grant.issuer !== here || grant.status !== 'pending' || Date.now() > grant.expiresAt) {
    throw new BrokerError('invalid_grant', 'This code is not valid: it may be mistyped, used or expired. Check the code on your device.');
  }
  await deps.limits.userCode.reward(clientAddress(ctx), counted);
  return { deviceCode, grant };
}

/** GET …/device/verify?user_code=: what the verification page shows (JSON). */
export function deviceVerifyInfo(deps: Deps): Koa.Middleware {
  return async function deviceVerifyInfo(ctx) {
    const { grant } = await grantOfUserCode(deps, ctx, inputOf(ctx, deviceVerifyInput).user_code);
    ctx.body = {
      client_id: grant.clientId,
      application_name: appName(deps, grant.clientId),
      scopes: grant.scope.split(' '),
      expires_in: Math.max(0, Math.round((grant.expiresAt - Date.now()) / 1000)),
    };
  };
}

/** GET …/device: the code entry page (pre-filled from verification_uri_complete). */
export function deviceEntry(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function deviceEntry(ctx) {
    const iss: IssuerContext = ctx.state.issuer;
    const userCode = typeof ctx.query.user_code === 'string' ? ctx.query.user_code : undefined;
    deviceEntryPage(ctx, { action: `${iss.path}/device`, csrf: formCsrfToken(jar, ctx), userCode, formTargets: realmOrigins(deps) });
  };
}

/** POST …/device: the code typed, then the sign-in (as the device's client) that leads to the approval page. */
export function deviceEntrySubmit(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function deviceEntrySubmit(ctx) {
    checkFormCsrf(jar, ctx);
    const iss: IssuerContext = ctx.state.issuer;
    const raw = (ctx.state.body as Record<string, unknown>).user_code;
    const typed = typeof raw === 'string' ? raw : '';
    let found: { deviceCode: string; grant: DeviceGrant };
    try {
      found = await grantOfUserCode(deps, ctx, typed);
    } catch (err) {
      if (!(err instanceof BrokerError) || err.code !== 'invalid_grant') throw err;
      return deviceEntryPage(ctx, { action: `${iss.path}/device`, csrf: formCsrfToken(jar, ctx), userCode: typed, error: err.message, formTargets: realmOrigins(deps) });
    }
    const { txId, tx } = await startTransaction(deps, jar, ctx, {
      issuer: iss.issuer, issuerPath: iss.path, clientId: found.grant.clientId, redirectUri: '', scope: found.grant.scope,
      tenant: iss.tenant?.slug, device: found.deviceCode,
    });
    const sso = await currentSso(deps, jar, ctx);
    await routeSignIn(deps, ctx, txId, tx, {
      issuerTenant: iss.tenant,
      sso,
      email: sso?.email,
      loginHint: iss.tenant && sso?.tenant === iss.tenant.slug ? sso.email : undefined,
    });
  };
}

/** The callback's last step for a device sign-in: hold the tokens, ask the signed-in user. */
export async function askDeviceConsent(deps: Deps, ctx: Koa.Context, o: { deviceCode: string; tenant: string; sub: string; email?: string; browser: string; tokens: DeviceGrant['tokens'] & object; issuerPath: string }): Promise<void> {
  const grant = await records.device.get(deps.store, o.deviceCode);
  if (!grant || grant.status !== 'pending' || Date.now() > grant.expiresAt) {
    throw new BrokerError('invalid_grant', 'This device code expired before it was approved. Start again on your device.');
  }
  const consentId = randomId();
  const csrf = randomId();
  const ttl = Math.min(CONSENT_TTL, secondsLeft(grant));
  await records.deviceConsent.put(deps.store, consentId, { deviceCode: o.deviceCode, issuer: grant.issuer, tenant: o.tenant, sub: o.sub, browser: o.browser, csrf, tokens: o.tokens }, ttl);
  await records.deviceConsentOfCode.put(deps.store, o.deviceCode, consentId, ttl);
  deviceApprovePage(ctx, {
    action: `${o.issuerPath}/device/verify`, csrf, consent: consentId, userCode: grant.userCode,
    appName: appName(deps, grant.clientId), scopes: grant.scope.split(' '), signedInAs: o.email ?? o.sub,
  });
}

/**
 * Writes the user's answer for the device's next poll. The first answer wins, across replicas:
 * two browsers that answer one code at once both read it pending, and the second is refused.
 */
async function answerDevice(deps: Deps, deviceCode: string, tenant: string, approved: boolean, tokens: DeviceGrant['tokens']): Promise<DeviceGrant> {
  const grant = await records.device.get(deps.store, deviceCode);
  const answered = () => new BrokerError('invalid_grant', 'This device code expired or was already answered. Start again on your device.');
  if (!grant || grant.status !== 'pending' || Date.now() > grant.expiresAt) throw answered();
  const answer: DeviceGrant = approved ? { ...grant, status: 'approved', tenant, tokens } : { ...grant, status: 'denied' };
  if (!(await records.deviceAnswer.putIfAbsent(deps.store, deviceCode, answer, secondsLeft(grant) + 60))) throw answered();
  // The grant says so too (without the tokens), so that its code leads nowhere any more.
  await records.device.put(deps.store, deviceCode, { ...grant, status: answer.status }, secondsLeft(grant) + 60);
  await records.userCode.delete(deps.store, normalizeUserCode(grant.userCode));
  return grant;
}

const notSignedIn = () => new BrokerError('login_required', 'Sign in first: open the device page, enter the code and sign in.');

/**
 * POST …/device/verify: the signed-in user's Allow or Deny.
 * - From the approval page (form): the consent it names, from the same browser, with the
 *   same SSO user, once.
 * - As JSON (`{user_code, action}`), which the API documents for an authenticated user:
 *   `deny` denies with the SSO session; `approve` cannot approve without the page, and
 *   answers where to go: the broker's own device page, which shows the code.
 */
export function deviceVerifyComplete(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function deviceVerifyComplete(ctx) {
    const body = ctx.state.body as Record<string, unknown>;
    const action = body.action;
    if (action !== 'approve' && action !== 'deny') throw new BrokerError('invalid_request', 'action must be approve or deny');
    const current = await currentSsoEntry(deps, jar, ctx);
    const sso = current?.sso;
    if (!sso) throw notSignedIn();

    if (ctx.state.bodyKind === 'form') {
      const consentId = typeof body.consent === 'string' ? body.consent : '';
      const pending = consentId ? await records.deviceConsent.get(deps.store, consentId) : undefined;
      // At the device page of the issuer the code is of, and no other (attack round 49: the
      // answer was taken at any issuer's, where the security model promises it is not).
      if (!pending || typeof body.csrf !== 'string' || !sameSecret(body.csrf, pending.csrf) || !isSameBrowser(jar, ctx, pending.browser)
        || pending.issuer !== (ctx.state.issuer as IssuerContext).issuer) {
        throw new BrokerError('access_denied', 'This approval expired or did not come from this browser. Start again on your device.', { status: 403 });
      }
      if (!(await holdsSessionOf(deps, current, pending.sub, pending.tenant))) throw notSignedIn();
      if (!(await records.deviceConsent.take(deps.store, consentId))) {
        throw new BrokerError('access_denied', 'This approval was already answered.', { status: 403 });
      }
      // A denial's tokens, or a losing answer's ("already answered"), are dropped with the consent
      // just taken: nobody holds them. They are not revoked at the realm, where revoking one ends
      // the user's whole realm session, and with it their other devices of the app (round 29).
      const grant = await answerDevice(deps, pending.deviceCode, pending.tenant, action === 'approve', pending.tokens);
      return deviceResultPage(ctx, action === 'approve', appName(deps, grant.clientId));
    }

    const { deviceCode, grant } = await grantOfUserCode(deps, ctx, typeof body.user_code === 'string' ? body.user_code : '');
    if (action === 'deny') {
      // Only the user whose own sign-in is answering this code may deny it; anyone else
      // signed in could otherwise cancel every device whose code they learn.
      const consentId = await records.deviceConsentOfCode.get(deps.store, deviceCode);
      const pending = consentId ? await records.deviceConsent.get(deps.store, consentId) : undefined;
      if (!pending || pending.sub !== sso.sub || pending.tenant !== sso.tenant || !(await records.deviceConsent.take(deps.store, consentId!))) {
        throw new BrokerError('access_denied', 'Open the device page and sign in to answer this code.', { status: 403 });
      }
      await answerDevice(deps, deviceCode, sso.tenant, false, undefined);
      ctx.body = { status: 'denied' };
      return;
    }
    const iss: IssuerContext = ctx.state.issuer;
    ctx.body = { status: 'confirm_in_browser', redirect_to: `${iss.issuer}/device?user_code=${encodeURIComponent(grant.userCode)}` };
  };
}

/** The token endpoint's device_code grant (RFC 8628 §3.4, §3.5). */
export async function pollDeviceCode(deps: Deps, clientId: string, deviceCode: string | undefined, issuer: string): Promise<{ grant: DeviceGrant }> {
  if (!deviceCode) throw new BrokerError('invalid_request', 'device_code is required');
  // The user's answer, if any, is the grant as it stands (its pending copy may be gone).
  let grant = (await records.deviceAnswer.get(deps.store, deviceCode)) ?? (await records.device.get(deps.store, deviceCode));
  if (!grant || grant.clientId !== clientId || grant.issuer !== issuer) throw new BrokerError('invalid_grant', 'Unknown device code');
  if (Date.now() > grant.expiresAt) {
    await forget(deps, deviceCode);
    throw new BrokerError('expired_token', 'The device code has expired; start again');
  }
  // At most one poll per interval, across replicas; each too-fast poll adds 5 s (§3.5).
  // The slow-downs are a counter of their own: a poll never writes the grant back, so it
  // cannot undo an approval that lands at the same moment.
  const slowDowns = (await records.deviceSlowDowns.get(deps.store, deviceCode)) ?? 0;
  const interval = grant.interval + 5 * slowDowns;
  if (!(await records.devicePoll.putIfAbsent(deps.store, deviceCode, 1, interval))) {
    const n = await records.deviceSlowDowns.increment(deps.store, deviceCode, secondsLeft(grant) + 60);
    const wait = grant.interval + 5 * n;
    // The wait named is from now, "for this and all subsequent requests" (§3.5): else a device
    // that ignores slow_down still had a poll through at its old interval (attack helper round 26).
    await records.devicePoll.put(deps.store, deviceCode, 1, wait);
    throw new BrokerError('slow_down', `Polling too fast; wait ${wait} s between requests`);
  }
  if (grant.status === 'pending') {
    if (await records.userCode.get(deps.store, normalizeUserCode(grant.userCode))) throw new BrokerError('authorization_pending', 'The user has not approved the request yet');
    // Its user code is gone and nobody answered: no one can enter it any more (lost with the
    // pending room's oldest, round 28: the device waited out its lifetime). An answer deletes
    // the code after it is written, so it is asked for once more.
    const answer = await records.deviceAnswer.get(deps.store, deviceCode);
    if (!answer) {
      await forget(deps, deviceCode);
      throw new BrokerError('expired_token', 'The user code can no longer be entered; start again');
    }
    grant = answer;
  }
  if (grant.status === 'denied') {
    await forget(deps, deviceCode);
    throw new BrokerError('access_denied', 'The user denied the request');
  }
  const taken = await records.deviceAnswer.take(deps.store, deviceCode);
  if (!taken?.tokens) throw new BrokerError('invalid_grant', 'The device code was already used');
  await records.device.delete(deps.store, deviceCode);
  return { grant: taken };
}

async function forget(deps: Deps, deviceCode: string): Promise<void> {
  await Promise.all([records.device.delete(deps.store, deviceCode), records.deviceAnswer.delete(deps.store, deviceCode)]);
}
