/**
 * Device authorization (RFC 8628) for GLOBAL apps, whose user's tenant is unknown until
 * they sign in.
 *
 * The broker issues the device and user codes itself. The user enters the code on the
 * broker's page, sees the app and scopes, and approves; approving signs them in through
 * the platform sign-in (email discovery, their realm's login) as the device's client, so
 * the tokens come from the user's tenant realm for the device's client (`azp` = device
 * client, `sub` = the user). We use the realm's authorization-code flow (with PKCE and
 * the user's realm session) rather than Keycloak's own device grant: the latter would put
 * a second consent page of Keycloak's after ours and end the flow on Keycloak's page.
 *
 * Everything lives in the store, so the device may poll any replica; `slow_down` is
 * enforced there too. Wrong user codes are limited per client address (RFC 8628 §5.1).
 */
import { randomInt } from 'node:crypto';
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import type { CookieJar } from '../../http/cookies.js';
import { assertUnderLimit, limitKey, recordFailure } from '../../http/rate-limit.js';
import { deviceApprovePage, deviceEntryPage, deviceResultPage } from '../../ui/pages.js';
import { continueWithEmail, currentSso, findApp, realmOrigins, toRealm } from './authorize.js';
import type { AuthenticatedClient } from './client-auth.js';
import type { IssuerContext } from './issuer.js';
import { randomId, TX_TTL, type DeviceGrant, type LoginTransaction } from './transactions.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** 20 consonants (no vowels: no words; no look-alikes such as I/1, O/0). RFC 8628 §6.1. */
const ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const USER_CODE_WINDOW = 300;

export function newUserCode(): string {
  let code = '';
  for (let i = 0; i < 8; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** Case and dashes (and spaces) do not matter when a person types the code. */
export function normalizeUserCode(input: string): string {
  return input.toUpperCase().replace(/[^A-Z]/g, '');
}

const deviceKey = (code: string) => `device:${code}`;
const userCodeKey = (code: string) => `user-code:${normalizeUserCode(code)}`;

/** POST …/device/authorize (RFC 8628 §3.1, §3.2). */
export function deviceAuthorize(deps: Deps): Koa.Middleware {
  const { deviceCodeTtlSeconds: ttl, deviceIntervalSeconds: interval } = deps.config.platform;
  return async function deviceAuthorize(ctx) {
    const client: AuthenticatedClient = ctx.state.client;
    const iss: IssuerContext = ctx.state.issuer;
    if (!client.app.grantTypes.includes(DEVICE_GRANT)) throw new BrokerError('unauthorized_client', `${client.clientId} may not use the device flow`);
    const scope = ctx.state.input.scope ?? 'openid';
    if (!scope.split(' ').includes('openid')) throw new BrokerError('invalid_scope', 'The openid scope is required');
    const deviceCode = randomId();
    let userCode = newUserCode();
    // A clash of user codes is unlikely (20^8); take another rather than share one.
    for (let i = 0; !(await deps.store.putIfAbsent(userCodeKey(userCode), deviceCode, ttl)) && i < 5; i++) userCode = newUserCode();
    const grant: DeviceGrant = {
      issuer: iss.issuer, clientId: client.clientId, scope, userCode, status: 'pending', expiresAt: Date.now() + ttl * 1000, interval,
    };
    await deps.store.put(deviceKey(deviceCode), grant, ttl + 60);
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

/** The pending grant a user code names, or a clear error; failures count against the address. */
async function grantOfUserCode(deps: Deps, ctx: Koa.Context, userCode: string): Promise<{ deviceCode: string; grant: DeviceGrant }> {
  const limit = [{ key: limitKey('user-code', ctx.ip), max: deps.config.platform.userCodeAttempts }];
  await assertUnderLimit(deps.store, limit, 'code entries');
  const deviceCode = normalizeUserCode(userCode).length === 8 ? await deps.store.get<string>(userCodeKey(userCode)) : undefined;
  const grant = deviceCode ? await deps.store.get<DeviceGrant>(deviceKey(deviceCode)) : undefined;
  if (!deviceCode || !grant || grant.status !== 'pending' || Date.now() > grant.expiresAt) {
    await recordFailure(deps.store, limit, USER_CODE_WINDOW);
    throw new BrokerError('invalid_grant', 'This code is not valid: it may be mistyped, used or expired. Check the code on your device.');
  }
  return { deviceCode, grant };
}

const appName = (deps: Deps, clientId: string) => findApp(deps, clientId)?.name ?? clientId;

/** GET …/device/verify?user_code=: what the verification page shows (JSON). */
export function deviceVerifyInfo(deps: Deps): Koa.Middleware {
  return async function deviceVerifyInfo(ctx) {
    const { grant } = await grantOfUserCode(deps, ctx, ctx.state.input.user_code);
    ctx.body = {
      client_id: grant.clientId,
      application_name: appName(deps, grant.clientId),
      scopes: grant.scope.split(' '),
      expires_in: Math.max(0, Math.round((grant.expiresAt - Date.now()) / 1000)),
    };
  };
}

/** Denies: the device's next poll gets access_denied. */
async function deny(deps: Deps, deviceCode: string, grant: DeviceGrant): Promise<void> {
  await deps.store.put(deviceKey(deviceCode), { ...grant, status: 'denied' }, 120);
  await deps.store.delete(userCodeKey(grant.userCode));
}

/**
 * Approves: the user signs in (SSO session → straight to their realm; else the email
 * page), as the device's client; the callback stores the realm's tokens on the grant.
 */
async function approve(deps: Deps, jar: CookieJar, ctx: Koa.Context, deviceCode: string, grant: DeviceGrant): Promise<void> {
  const iss: IssuerContext = ctx.state.issuer;
  const tx: LoginTransaction = {
    issuer: iss.issuer, issuerPath: iss.path, clientId: grant.clientId, redirectUri: '', scope: grant.scope,
    csrf: randomId(), realmVerifier: randomId(), realmNonce: randomId(), device: deviceCode,
  };
  const txId = randomId();
  await deps.store.put(`tx:${txId}`, tx, TX_TTL);
  jar.set(ctx, 'rb_csrf', tx.csrf, TX_TTL);
  const sso = await currentSso(deps, jar, ctx);
  if (iss.tenant) return toRealm(deps, ctx, txId, tx, iss.tenant, sso?.tenant === iss.tenant.slug ? sso.email : undefined);
  const tenant = sso ? await deps.tenants.bySlug(sso.tenant) : undefined;
  if (tenant) return toRealm(deps, ctx, txId, tx, tenant, sso!.email);
  if (sso?.email) return continueWithEmail(deps, ctx, txId, tx, sso.email);
  ctx.redirect(`${iss.path}/login?tx=${encodeURIComponent(txId)}`);
}

/** Device pages' CSRF: one token per browser (cookie) echoed by every form. */
function deviceCsrf(jar: CookieJar, ctx: Koa.Context): string {
  let token = jar.get(ctx, 'rb_dcsrf');
  if (!token) {
    token = randomId();
    jar.set(ctx, 'rb_dcsrf', token, 3600);
  }
  return token;
}

function checkDeviceCsrf(jar: CookieJar, ctx: Koa.Context): void {
  const sent = (ctx.state.body as Record<string, unknown>).csrf;
  const cookie = jar.get(ctx, 'rb_dcsrf');
  if (typeof sent !== 'string' || !cookie || sent !== cookie) {
    throw new BrokerError('access_denied', 'The form expired or did not come from this site. Go back and try again.', { status: 403 });
  }
}

/** GET …/device: the code entry page (pre-filled from verification_uri_complete). */
export function deviceEntry(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function deviceEntry(ctx) {
    const iss: IssuerContext = ctx.state.issuer;
    const userCode = typeof ctx.query.user_code === 'string' ? ctx.query.user_code : undefined;
    deviceEntryPage(ctx, { action: `${iss.path}/device`, csrf: deviceCsrf(jar, ctx), userCode });
  };
}

/** POST …/device: the code typed, then the approval page. */
export function deviceEntrySubmit(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function deviceEntrySubmit(ctx) {
    checkDeviceCsrf(jar, ctx);
    const iss: IssuerContext = ctx.state.issuer;
    const typed = String((ctx.state.body as Record<string, unknown>).user_code ?? '');
    try {
      const { grant } = await grantOfUserCode(deps, ctx, typed);
      deviceApprovePage(ctx, {
        action: `${iss.path}/device/verify`, csrf: deviceCsrf(jar, ctx), userCode: grant.userCode,
        appName: appName(deps, grant.clientId), scopes: grant.scope.split(' '), formTargets: realmOrigins(deps),
      });
    } catch (err) {
      if (!(err instanceof BrokerError) || err.code !== 'invalid_grant') throw err;
      deviceEntryPage(ctx, { action: `${iss.path}/device`, csrf: deviceCsrf(jar, ctx), userCode: typed, error: err.message });
    }
  };
}

/**
 * POST …/device/verify: approve or deny. From the page (form) it continues in the browser;
 * as JSON it answers `{"status": "denied"}` or `{"status": "sign_in", "redirect_to": …}`.
 */
export function deviceVerifyComplete(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function deviceVerifyComplete(ctx) {
    const body = ctx.state.body as Record<string, unknown>;
    const fromPage = ctx.state.bodyKind === 'form';
    if (fromPage) checkDeviceCsrf(jar, ctx);
    const action = body.action;
    if (action !== 'approve' && action !== 'deny') throw new BrokerError('invalid_request', 'action must be approve or deny');
    const { deviceCode, grant } = await grantOfUserCode(deps, ctx, String(body.user_code ?? ''));
    if (action === 'deny') {
      await deny(deps, deviceCode, grant);
      if (fromPage) return deviceResultPage(ctx, false, appName(deps, grant.clientId));
      ctx.body = { status: 'denied' };
      return;
    }
    await approve(deps, jar, ctx, deviceCode, grant);
    if (!fromPage) {
      const location = ctx.response.get('location');
      ctx.status = 200;
      ctx.remove('location');
      ctx.body = { status: 'sign_in', redirect_to: location };
    }
  };
}

/** The callback's last step for a device sign-in: the tokens go on the grant. */
export async function completeDeviceSignIn(deps: Deps, ctx: Koa.Context, deviceCode: string, tenant: string, tokens: DeviceGrant['tokens']): Promise<void> {
  const grant = await deps.store.get<DeviceGrant>(deviceKey(deviceCode));
  if (!grant || grant.status !== 'pending' || Date.now() > grant.expiresAt) {
    throw new BrokerError('invalid_grant', 'This device code expired before it was approved. Start again on your device.');
  }
  await deps.store.put(deviceKey(deviceCode), { ...grant, status: 'approved', tenant, tokens }, Math.ceil((grant.expiresAt - Date.now()) / 1000) + 60);
  await deps.store.delete(userCodeKey(grant.userCode));
  deviceResultPage(ctx, true, appName(deps, grant.clientId));
}

/** The token endpoint's device_code grant (RFC 8628 §3.4, §3.5). */
export async function pollDeviceCode(deps: Deps, clientId: string, deviceCode: string | undefined): Promise<{ grant: DeviceGrant }> {
  if (!deviceCode) throw new BrokerError('invalid_request', 'device_code is required');
  const grant = await deps.store.get<DeviceGrant>(deviceKey(deviceCode));
  if (!grant || grant.clientId !== clientId) throw new BrokerError('invalid_grant', 'Unknown device code');
  if (Date.now() > grant.expiresAt) {
    await deps.store.delete(deviceKey(deviceCode));
    throw new BrokerError('expired_token', 'The device code has expired; start again');
  }
  // At most one poll per interval, across replicas; too fast adds 5 s (§3.5).
  if (!(await deps.store.putIfAbsent(`device-poll:${deviceCode}`, 1, grant.interval))) {
    await deps.store.put(deviceKey(deviceCode), { ...grant, interval: grant.interval + 5 }, Math.ceil((grant.expiresAt - Date.now()) / 1000) + 60);
    throw new BrokerError('slow_down', `Polling too fast; wait ${grant.interval + 5} s between requests`);
  }
  if (grant.status === 'denied') {
    await deps.store.delete(deviceKey(deviceCode));
    throw new BrokerError('access_denied', 'The user denied the request');
  }
  if (grant.status === 'pending') throw new BrokerError('authorization_pending', 'The user has not approved the request yet');
  const taken = await deps.store.take<DeviceGrant>(deviceKey(deviceCode));
  if (!taken?.tokens) throw new BrokerError('invalid_grant', 'The device code was already used');
  return { grant: taken };
}
