/**
 * The fault scenarios, each run against a Rig under load, each returning its figures:
 * requests, answers by status (during the fault and overall), the slowest answer, the
 * time to recover after the fault is lifted, RSS before and after, and the broker's log
 * lines (not the access log) by level. `npm run resilience` runs them long and prints
 * them; test/resilience/resilience.test.ts runs them short and asserts on them.
 */
import * as oidc from 'openid-client';
import { HttpBrowser } from '../helpers/http-browser.js';
import { clearLockouts } from '../helpers/services.js';
import { formPost, get, Load, type Figures, type Shot } from './load.js';
import { KEYCLOAK, type Rig } from './rig.js';

const ACME_ID = '19340612-d99f-40e7-8f15-76f059339aba';
const GLOBEX_ID = 'a1f870e0-c3da-48ee-815c-a1c8352270a0';
const APP = 'http://127.0.0.1:8765/';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Timing {
  /** Load before the fault, during it, and after it is lifted. */
  beforeMs: number;
  faultMs: number;
  afterMs: number;
  concurrency: number;
}

export interface Result {
  name: string;
  overall: Figures;
  duringFault: Figures;
  recoveryMs?: number;
  rssBeforeMb: number[];
  rssAfterMb: number[];
  logLevels: Record<string, number>;
  /** Per replica: each non-access log line's level and message, with how often it came. */
  logMessages: Record<string, number>[];
  notes?: string[];
}

/** Requests that need Keycloak (grants in two realms) and one that the broker serves from its caches. */
function keycloakShots(base: string): Shot[] {
  const token = `${base}/auth/api/v1/oauth/connect/token`;
  const creds = { client_id: 'connect-demo', client_secret: 'connect-demo-secret' };
  return [
    formPost(token, { ...creds, realm: ACME_ID }),
    formPost(token, { ...creds, realm: GLOBEX_ID }),
    get(`${base}/v1/auth/config`),
  ];
}

async function underFault(rig: Rig, name: string, t: Timing, shots: Shot[], fault: () => Promise<void> | void, lift: () => Promise<void> | void, good?: (s: number) => boolean): Promise<Result> {
  const rssBeforeMb = rig.replicas.map((r) => r.rssMb());
  const marks = rig.replicas.map((r) => r.mark());
  const load = new Load(shots, t.concurrency);
  await sleep(t.beforeMs);
  const faultAt = load.now();
  await fault();
  await sleep(t.faultMs);
  const liftedAt = load.now();
  await lift();
  await sleep(t.afterMs);
  await load.stop();
  const logLevels: Record<string, number> = {};
  rig.replicas.forEach((r, i) => {
    for (const [level, n] of Object.entries(r.logLevels(marks[i]))) logLevels[level] = (logLevels[level] ?? 0) + n;
  });
  return {
    name,
    overall: load.figures(),
    duringFault: load.figures(faultAt, liftedAt),
    recoveryMs: load.recoveryMs(liftedAt, good ? (s) => !good(s) : undefined),
    rssBeforeMb,
    rssAfterMb: rig.replicas.map((r) => r.rssMb()),
    logLevels,
    logMessages: rig.replicas.map((r, i) => r.logMessages(marks[i])),
  };
}

export function keycloakKilled(rig: Rig, t: Timing): Promise<Result> {
  return underFault(rig, 'Keycloak killed (proxy refuses)', t, keycloakShots(rig.url),
    () => rig.keycloak.refuse(), () => rig.keycloak.normal());
}

export function keycloakFrozen(rig: Rig, t: Timing): Promise<Result> {
  return underFault(rig, 'Keycloak frozen (proxy stalls)', t, keycloakShots(rig.url),
    () => rig.keycloak.freeze(), () => rig.keycloak.normal());
}

/** Redis killed: state endpoints 503, local ones keep serving; all good again once Redis is back. */
export async function redisKilled(rig: Rig, t: Timing): Promise<Result & { localDuringFault: Figures }> {
  // A service account's access token: a bearer for /register without a user's password.
  const res = await fetch(`${rig.url}/auth/api/v1/oauth/connect/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: 'connect-demo', client_secret: 'connect-demo-secret' }),
  });
  if (res.status !== 200) throw new Error(`no token for the Redis scenario: ${res.status} ${await res.text()}`);
  const data = (await res.json()) as { access_token: string };
  const state = formPost(`${rig.url}/v1/auth/register`, {}, { authorization: `Bearer ${data.access_token}`, 'x-tenant': 'acme' });
  const local = get(`${rig.url}/v1/auth/config`);
  const tagged: Shot[] = [async () => 1000 + await state(), local];
  const result = await underFault(rig, 'Redis killed', t, tagged, () => rig.redis.kill(), () => rig.redis.up(),
    (s) => s < 500 || (s >= 1000 && s < 1500));
  // State answers are tagged +1000 to tell them apart from local ones in the figures.
  return { ...result, localDuringFault: untag(result.duringFault, false), duringFault: untag(result.duringFault, true), overall: untag(result.overall, undefined) };
}

function untag(f: Figures, state: boolean | undefined): Figures {
  const byStatus: Record<string, number> = {};
  let requests = 0;
  for (const [k, n] of Object.entries(f.byStatus)) {
    const s = Number(k);
    const isState = s >= 1000;
    if (state !== undefined && isState !== state) continue;
    const key = String(isState ? s - 1000 : s);
    byStatus[key] = (byStatus[key] ?? 0) + n;
    requests += n;
  }
  return { requests, byStatus, slowestMs: f.slowestMs };
}

/**
 * A platform sign-in started on replica A (the email page: the transaction and its CSRF
 * cookie), A killed, and the rest through the balancer on B: the email, Keycloak's login,
 * the callback and the token request. Returns the tenant claim of the ID token.
 */
export async function replicaKilledDuringSignIn(rig: Rig): Promise<string> {
  const [a, b] = rig.replicas as [typeof rig.replicas[0], typeof rig.replicas[0]];
  const issuer = `${rig.url}/api/v1/platform/oauth`;
  await rig.routeTo(a);
  const config = await oidc.discovery(new URL(issuer), 'platform-demo', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: `${APP}callback`, scope: 'openid email', nonce, state: 'resilience',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  await clearLockouts(); // the demo users are shared with other tests' wrong passwords
  const browser = new HttpBrowser(APP);
  let page = await browser.go(url);
  if (page.status !== 200 || !/Email address/i.test(page.html)) throw new Error(`no email page from A: ${page.status}`);
  await a.kill();
  await rig.routeTo(a, b); // A's connections are refused: the balancer fails over to B
  page = await browser.submit(page, { email: 'alice@acme.example' });
  if (!page.url.href.startsWith(KEYCLOAK)) throw new Error(`not at Keycloak after the email on B: ${page.url} ${page.status} ${page.html.slice(0, 200)}`);
  page = await browser.keycloakLogin(page, 'alice@acme.example', 'alice-pass');
  if (!page.url.href.startsWith(`${APP}callback`)) throw new Error(`no redirect to the app: ${page.url} ${page.status} ${page.html.slice(0, 300)}`);
  const tokens = await oidc.authorizationCodeGrant(config, page.url, { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: 'resilience' });
  return String(tokens.claims()?.tenant);
}

/**
 * A device code issued by replica A, A killed, then the person's approval and the
 * device's polling through the balancer on B. Returns the access token's user.
 */
export async function replicaKilledDuringDeviceFlow(rig: Rig): Promise<string> {
  const [a, b] = rig.replicas as [typeof rig.replicas[0], typeof rig.replicas[0]];
  const oauth = `${rig.url}/api/v1/platform/oauth`;
  await rig.routeTo(a);
  const started = await fetch(`${oauth}/device/authorize`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: 'tv-demo', scope: 'openid' }),
  });
  if (started.status !== 200) throw new Error(`device/authorize on A: ${started.status} ${await started.text()}`);
  const d = (await started.json()) as { device_code: string; verification_uri_complete: string; interval: number };
  await a.kill();
  await rig.routeTo(a, b);
  const poll = async () => {
    const res = await fetch(`${oauth}/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: DEVICE_GRANT, client_id: 'tv-demo', device_code: d.device_code }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };
  const pending = await poll();
  if (pending.body.error !== 'authorization_pending') throw new Error(`B does not know A's device code: ${JSON.stringify(pending.body)}`);
  // The person at a browser, as in test/platform/device.test.ts: code page, sign-in, approval.
  await clearLockouts();
  const browser = new HttpBrowser(APP);
  let page = await browser.go(d.verification_uri_complete);
  page = await browser.submit(page, {});
  page = await browser.submit(page, { email: 'alice@acme.example' });
  if (!page.url.href.startsWith(KEYCLOAK)) throw new Error(`not at Keycloak: ${page.url} ${page.status} ${page.html.slice(0, 300)}`);
  page = await browser.keycloakLogin(page, 'alice@acme.example', 'alice-pass');
  if (!/Allow TV demo app/.test(page.html)) throw new Error(`no approval page: ${page.url} ${page.status} ${page.html.slice(0, 300)}`);
  page = await browser.submit(page, { action: 'approve' });
  if (!/Device connected/.test(page.html)) throw new Error(`approval did not complete: ${page.url} ${page.status} ${page.html.slice(0, 300)}`);
  let interval = d.interval;
  for (let i = 0; i < 20; i++) {
    await sleep(interval * 1000 + 100);
    const res = await poll();
    if (res.status === 200) return JSON.parse(Buffer.from(res.body.access_token!.split('.')[1]!, 'base64url').toString()).preferred_username;
    if (res.body.error === 'slow_down') interval += 5; // RFC 8628 §3.5
    else if (res.body.error !== 'authorization_pending') throw new Error(`poll on B: ${JSON.stringify(res.body)}`);
  }
  throw new Error('the device never got its tokens');
}

export function printResult(r: Result & { localDuringFault?: Figures }): void {
  const fmt = (f: Figures) => `${f.requests} requests, ${Object.entries(f.byStatus).map(([s, n]) => `${n} × ${s === '0' ? 'refused' : s}`).join(', ')}; slowest ${f.slowestMs} ms`;
  const lines = [
    `== ${r.name}`,
    `   overall:       ${fmt(r.overall)}`,
    `   during fault:  ${fmt(r.duringFault)}`,
    ...(r.localDuringFault ? [`   local during:  ${fmt(r.localDuringFault)}`] : []),
    `   recovered:     ${r.recoveryMs === undefined ? 'NOT RECOVERED' : `${r.recoveryMs} ms after the fault was lifted`}`,
    `   RSS (MB):      ${r.rssBeforeMb.map((m) => m.toFixed(0)).join(' / ')} before, ${r.rssAfterMb.map((m) => m.toFixed(0)).join(' / ')} after (per replica)`,
    `   log lines:     ${Object.entries(r.logLevels).map(([l, n]) => `${n} ${l}`).join(', ') || 'none'} (besides the access log)`,
    ...(r.logMessages ?? []).flatMap((m, i) => Object.entries(m).map(([line, n]) => `     replica ${i}: ${n} × ${line}`)),
    ...(r.notes ?? []).map((n) => `   ${n}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
