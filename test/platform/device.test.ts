/**
 * Device authorization (RFC 8628) on the platform, against the real Keycloak: the device
 * polls while a person approves in a browser (played over HTTP here; in Chromium in
 * device-browser.test.ts), and every RFC error along the way.
 */
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { claims, deviceOverrides, post, realmKeyOf, startBroker, type TestBroker } from '../helpers/broker.js';
import { HttpBrowser } from '../helpers/http-browser.js';
import { signIn } from '../helpers/platform-rp.js';
import { KEYCLOAK_URL } from '../helpers/services.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


describe('Platform device flow (RFC 8628)', () => {
  let broker: TestBroker;
  let oauth: string;
  before(async () => {
    broker = await startBroker({ overrides: deviceOverrides() });
    oauth = `${broker.url}/api/v1/platform/oauth`;
  });
  after(() => broker.close());

  const start = async (scope?: string) => {
    const res = await post(`${oauth}/device/authorize`, { client_id: 'tv-demo', scope });
    assert.equal(res.status, 200, res.text);
    return res.body as { device_code: string; user_code: string; verification_uri: string; verification_uri_complete: string; expires_in: number; interval: number };
  };
  const poll = (deviceCode: string, clientId = 'tv-demo') => post(`${oauth}/token`, { grant_type: DEVICE_GRANT, client_id: clientId, device_code: deviceCode });

  /** A person at a browser: the code page, sign-in, the approval page (code, app, who), then their choice. */
  async function userAt(verification: string, choice: 'approve' | 'deny', user = 'alice@acme.example') {
    const browser = new HttpBrowser('http://127.0.0.1:8765/');
    let page = await browser.go(verification);
    assert.equal(page.status, 200);
    page = await browser.submit(page, {});
    assert.match(page.html, /Email address/);
    page = await browser.submit(page, { email: user });
    assert.ok(page.url.href.startsWith(KEYCLOAK_URL), String(page.url));
    page = await browser.keycloakLogin(page, user, `${user.split('@')[0]}-pass`);
    assert.match(page.html, /Allow TV demo app\?/);
    assert.ok(page.html.includes(user), 'says who is signed in');
    const code = new URL(verification).searchParams.get('user_code')!;
    assert.ok(page.html.includes(code), 'shows the code');
    return browser.submit(page, { action: choice });
  }

  /** Alice signed in in `browser` and at the approval page of `verification`. */
  async function approvalPage(browser: HttpBrowser, verification: string) {
    let page = await browser.go(verification);
    page = await browser.submit(page, {});
    page = await browser.submit(page, { email: 'alice@acme.example' });
    page = await browser.keycloakLogin(page, 'alice@acme.example', 'alice-pass');
    assert.match(page.html, /Allow TV demo app\?/);
    return page;
  }

  it('issues codes as RFC 8628 §3.2 says', async () => {
    const d = await start();
    assert.match(d.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.equal(d.verification_uri, `${oauth}/device`);
    assert.equal(d.verification_uri_complete, `${oauth}/device?user_code=${d.user_code}`);
    assert.equal(d.expires_in, 600);
    assert.equal(d.interval, 1);
    assert.ok(d.device_code.length >= 43);
  });

  it('approved by alice: pending, slow_down, then her acme tokens for tv-demo', async () => {
    const d = await start('openid email');
    const pending = await poll(d.device_code);
    assert.equal(pending.status, 400);
    assert.equal(pending.body.error, 'authorization_pending');
    const fast = await poll(d.device_code);
    assert.equal(fast.body.error, 'slow_down');

    const done = await userAt(d.verification_uri_complete, 'approve');
    assert.match(done.html, /Device connected/);

    await sleep(6100); // the interval grew by 5 s after slow_down
    const tokens = await poll(d.device_code);
    assert.equal(tokens.status, 200, tokens.text);
    const at = claims(tokens.body.access_token);
    assert.equal(at.iss, `${KEYCLOAK_URL}/realms/acme`);
    assert.equal(at.azp, 'tv-demo');
    assert.equal(at.preferred_username, 'alice@acme.example');
    const jwks = jose.createRemoteJWKSet(new URL(`${oauth}/.well-known/jwks.json`));
    const { payload } = await jose.jwtVerify(tokens.body.id_token, jwks, { issuer: oauth, audience: 'tv-demo' });
    assert.equal(payload.tenant, 'acme');
    // The platform issuer's sub: the tenant's id and the realm's user id (keys/platform-subject.ts).
    assert.equal(payload.sub, `${payload.tenant_id}:${at.sub}`);
    await jose.jwtVerify(tokens.body.access_token, realmKeyOf(broker.url), { issuer: at.iss });
    const introspection = await post(`${broker.url}/auth/api/v1/oauth/connect/introspect`, { token: tokens.body.access_token });
    assert.equal(introspection.body.active, true);

    await sleep(1100);
    const again = await poll(d.device_code);
    assert.equal(again.body.error, 'invalid_grant', 'a device code gives tokens once');
  });

  it('denied: access_denied', async () => {
    const d = await start();
    const page = await userAt(d.verification_uri_complete, 'deny');
    assert.match(page.html, /Device not connected/);
    const res = await poll(d.device_code);
    assert.equal(res.body.error, 'access_denied');
  });

  it('the verification info (JSON) names the app and scopes; the code is read case- and dash-insensitively', async () => {
    const d = await start('openid profile');
    const typed = d.user_code.replace('-', '').toLowerCase();
    const res = await fetch(`${oauth}/device/verify?user_code=${typed}`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { client_id: 'tv-demo', application_name: 'TV demo app', scopes: ['openid', 'profile'], expires_in: 600 });
  });

  it('a wrong user code gets a clear answer, and guessing is limited per address', async () => {
    const limited = await startBroker({ overrides: deviceOverrides({ userCodeAttempts: 3 }) });
    try {
      const url = `${limited.url}/api/v1/platform/oauth/device/verify?user_code=BBBB-BBBB`;
      for (let i = 0; i < 3; i++) {
        const res = await fetch(url);
        assert.equal(res.status, 400);
        assert.match((await res.json()).error_description, /not valid/);
      }
      const blocked = await fetch(url);
      assert.equal(blocked.status, 429);
      assert.ok(blocked.headers.get('retry-after'));
      const page = new HttpBrowser('http://127.0.0.1:8765/');
      const entry = await page.go(`${broker.url}/api/v1/platform/oauth/device?user_code=ZZZZ-ZZZZ`);
      const wrong = await page.submit(entry, {});
      assert.equal(wrong.status, 400);
      assert.match(wrong.html, /not valid/);
    } finally {
      await limited.close();
    }
  });

  it('expired: expired_token', async () => {
    const short = await startBroker({ overrides: deviceOverrides({ deviceCodeTtlSeconds: 1 }) });
    try {
      const d = (await post(`${short.url}/api/v1/platform/oauth/device/authorize`, { client_id: 'tv-demo' })).body;
      await sleep(1200);
      const res = await post(`${short.url}/api/v1/platform/oauth/token`, { grant_type: DEVICE_GRANT, client_id: 'tv-demo', device_code: d.device_code });
      assert.equal(res.body.error, 'expired_token');
      const info = await fetch(`${short.url}/api/v1/platform/oauth/device/verify?user_code=${d.user_code}`);
      assert.equal(info.status, 400, 'an expired code is not offered for approval');
    } finally {
      await short.close();
    }
  });

  it('refuses other clients: no device grant, a foreign device code, an unknown client', async () => {
    const noGrant = await post(`${oauth}/device/authorize`, { client_id: 'platform-demo' });
    assert.equal(noGrant.body.error, 'unauthorized_client');
    const unknown = await post(`${oauth}/device/authorize`, { client_id: 'nobody' });
    assert.equal(unknown.status, 401);
    const d = await start();
    const foreign = await post(`${oauth}/token`, { grant_type: DEVICE_GRANT, client_id: 'platform-demo', device_code: d.device_code });
    assert.equal(foreign.body.error, 'unauthorized_client');
    const missing = await post(`${oauth}/device/authorize`, {});
    assert.equal(missing.status, 401);
  });

  it('approval and denial need a signed-in user: without an SSO session, 401 login_required (form or JSON)', async () => {
    const d = await start();
    const form = await post(`${oauth}/device/verify`, { user_code: d.user_code, action: 'approve', csrf: 'forged' });
    assert.equal(form.status, 401);
    const json = await post(`${oauth}/device/verify`, { user_code: d.user_code, action: 'approve' }, { json: true });
    assert.equal(json.status, 401);
    assert.equal(json.body.error, 'login_required');
    const deny = await post(`${oauth}/device/verify`, { user_code: d.user_code, action: 'deny' }, { json: true });
    assert.equal(deny.status, 401);
    assert.equal((await poll(d.device_code)).body.error, 'authorization_pending', 'the grant is untouched');
  });

  /**
   * The review's attack (issue 8, defect 1): the attacker starts a device code and the
   * sign-in for it in their own browser, then has a victim who is signed in at Keycloak
   * open the realm URL of that sign-in. Keycloak's SSO sends the victim's browser to the
   * broker's callback with a code for the victim; the broker must refuse it there.
   */
  it('an attacker cannot have a victim\'s browser finish their device sign-in (callback bound to the browser)', async () => {
    const d = await start();
    const attacker = new HttpBrowser('http://127.0.0.1:8765/');
    let page = await attacker.go(d.verification_uri_complete);
    page = await attacker.submit(page, {});
    page = await attacker.submit(page, { email: 'alice@acme.example' });
    const realmUrl = page.url; // the realm login of the attacker's transaction
    assert.ok(realmUrl.href.startsWith(KEYCLOAK_URL));

    // The victim, alice, is signed in at Keycloak (her own platform sign-in in her browser).
    const victim = new HttpBrowser('http://127.0.0.1:8765/');
    const own = await start();
    let vp = await victim.go(own.verification_uri_complete);
    vp = await victim.submit(vp, {});
    vp = await victim.submit(vp, { email: 'alice@acme.example' });
    vp = await victim.keycloakLogin(vp, 'alice@acme.example', 'alice-pass');
    assert.match(vp.html, /Allow TV demo app\?/);

    // She opens the attacker's link: Keycloak's SSO answers at once, the broker refuses.
    const lured = await victim.go(realmUrl);
    assert.equal(lured.status, 403, lured.html.slice(0, 400));
    assert.match(lured.html, /started in another browser/);
    assert.doesNotMatch(lured.html, /Device connected|Allow TV demo app/);
    await sleep(1100);
    assert.equal((await poll(d.device_code)).body.error, 'authorization_pending', 'the attacker\'s device gets nothing');
  });

  it('the approval page answers once, only in the browser and for the user that signed in', async () => {
    const d = await start();
    const browser = new HttpBrowser('http://127.0.0.1:8765/');
    const page = await approvalPage(browser, d.verification_uri_complete);
    const field = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(page.html)![1]!;
    // Another browser with the form's fields (stolen page) but no SSO session or binding.
    const stolen = await post(`${oauth}/device/verify`, { consent: field('consent'), csrf: field('csrf'), action: 'approve' });
    assert.equal(stolen.status, 401);
    // The form without its CSRF token, in the right browser.
    const forged = await browser.go(`${oauth}/device/verify`, { consent: field('consent'), csrf: 'x', action: 'approve' });
    assert.equal(forged.status, 403);
    const ok = await browser.submit(page, { action: 'approve' });
    assert.match(ok.html, /Device connected/);
    const again = await browser.submit(page, { action: 'approve' });
    assert.equal(again.status, 403, 'once');
  });

  it('the approval is taken at the device page of the issuer the code is of, not at another issuer\'s (attack round 49)', async () => {
    const d = await start();
    const browser = new HttpBrowser('http://127.0.0.1:8765/');
    const page = await approvalPage(browser, d.verification_uri_complete);
    const field = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(page.html)![1]!;
    const form = { consent: field('consent'), csrf: field('csrf'), action: 'approve' };
    for (const slug of ['acme', 'globex']) {
      const elsewhere = await browser.go(`${broker.url}/api/v1/auth/tenants/${slug}/oauth/device/verify`, form);
      assert.equal(elsewhere.status, 403, `at ${slug}'s issuer: ${elsewhere.html}`);
    }
    assert.equal((await poll(d.device_code)).body.error, 'authorization_pending');
    const ok = await browser.submit(page, { action: 'approve' });
    assert.match(ok.html, /Device connected/);
  });

  it('an approval page open while the same browser signs in elsewhere (another tenant) still answers: the session is linked, not gone (attack round 37)', async () => {
    const d = await start();
    const browser = new HttpBrowser('http://127.0.0.1:8765/');
    const page = await approvalPage(browser, d.verification_uri_complete);
    // Another tab of the same browser: bob signs in to an app at globex.
    await signIn(oauth, 'bob@globex.example', { browser, brokerUrl: broker.url });
    const ok = await browser.submit(page, { action: 'approve' });
    assert.match(ok.html, /Device connected/, `${ok.status}: ${ok.html.slice(0, 300)}`);
    await sleep(1100);
    const tokens = await poll(d.device_code);
    assert.equal(tokens.status, 200, tokens.text);
    assert.equal(claims(tokens.body.access_token).preferred_username, 'alice@acme.example');
    // Signed out of everything: the approval page of a new device finds no one.
    const out = await browser.go(`${oauth}/logout`, { client_id: 'platform-demo' });
    if (/Sign out\?/.test(out.html)) await browser.submit(out, {});
    const d2 = await start();
    const after = await browser.go(d2.verification_uri_complete);
    assert.doesNotMatch(after.html, /Allow TV demo app\?/);
  });
});
