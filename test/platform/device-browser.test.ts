/**
 * The device flow end to end with a real headless Chromium playing the user: alice
 * approves on replica A while the device polls replica B (shared Redis).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as jose from 'jose';
import { chromium, type Browser } from 'playwright-core';
import { claims, deviceOverrides, post, realmKeyOf, startBroker, type TestBroker } from '../helpers/broker.js';
import { CHROMIUM, KEYCLOAK_URL, REDIS_URL, cleanRedisPrefix } from '../helpers/services.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

describe('Platform device flow in headless Chromium, two replicas', function () {
  this.timeout(90_000);
  const prefix = `rb-test:${randomUUID()}:`;
  let a: TestBroker;
  let b: TestBroker;
  let browser: Browser;
  before(async () => {
    const env = { REDIS_URL, STORE_PREFIX: prefix };
    [a, b] = await Promise.all([startBroker({ env, overrides: deviceOverrides() }), startBroker({ env, overrides: deviceOverrides() })]);
    b.deps.config.publicUrl = a.url; // one public URL for both, as behind a load balancer
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    await browser?.close();
    await a?.close();
    await b?.close();
    await cleanRedisPrefix(prefix);
  });

  it('tv-demo gets alice\'s acme tokens: she approves on A, the device polls B', async () => {
    const d = (await post(`${b.url}/api/v1/platform/oauth/device/authorize`, { client_id: 'tv-demo', scope: 'openid email' })).body;
    const pollB = () => post(`${b.url}/api/v1/platform/oauth/token`, { grant_type: DEVICE_GRANT, client_id: 'tv-demo', device_code: d.device_code });
    let interval = d.interval as number;
    let result = await pollB();
    assert.equal(result.body.error, 'authorization_pending');

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(d.verification_uri_complete); // served by A
    assert.equal(await page.locator('#user_code').inputValue(), d.user_code, 'pre-filled');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Email address').fill('alice@acme.example');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((u) => u.href.startsWith(KEYCLOAK_URL));
    await page.locator('#password').fill('alice-pass');
    await page.locator('#kc-login').click();
    await page.getByRole('heading', { name: 'Allow TV demo app?' }).waitFor();
    const approval = await page.content();
    assert.ok(approval.includes(d.user_code) && approval.includes('alice@acme.example') && /email/.test(approval), 'code, user and scopes shown');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
    await context.close();

    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, interval * 1000 + 100));
      result = await pollB();
      if (result.body.error === 'slow_down') interval += 5;
      if (result.status === 200 || !['authorization_pending', 'slow_down'].includes(result.body.error)) break;
    }
    assert.equal(result.status, 200, result.text);
    const at = claims(result.body.access_token);
    assert.equal(at.azp, 'tv-demo');
    assert.equal(at.preferred_username, 'alice@acme.example');
    const jwks = jose.createRemoteJWKSet(new URL(`${a.url}/api/v1/platform/oauth/.well-known/jwks.json`));
    await jose.jwtVerify(result.body.access_token, realmKeyOf(a.url), { issuer: at.iss });
    const { payload } = await jose.jwtVerify(result.body.id_token, jwks, { issuer: `${a.url}/api/v1/platform/oauth`, audience: 'tv-demo' });
    // The platform issuer's sub: the tenant's id and the realm's user id (keys/platform-subject.ts).
    assert.equal(payload.sub, `${payload.tenant_id}:${at.sub}`);
    const introspection = await post(`${a.url}/auth/api/v1/oauth/connect/introspect`, { token: result.body.access_token });
    assert.equal(introspection.body.active, true, 'active at acme');
  });

  it('the review\'s attack fails with a clear refusal: a victim signed in at Keycloak opens the attacker\'s sign-in URL', async () => {
    // The attacker: a device code, its code page and sign-in started in their own browser.
    const d = (await post(`${a.url}/api/v1/platform/oauth/device/authorize`, { client_id: 'tv-demo' })).body;
    const attacker = await browser.newContext();
    const ap = await attacker.newPage();
    await ap.goto(d.verification_uri_complete);
    await ap.getByRole('button', { name: 'Continue' }).click();
    await ap.getByLabel('Email address').fill('bob@globex.example');
    await ap.getByRole('button', { name: 'Continue' }).click();
    await ap.waitForURL((u) => u.href.startsWith(KEYCLOAK_URL));
    const lure = ap.url();
    await attacker.close();

    // The victim: bob, signed in at his realm in his own browser (a platform sign-in).
    const victim = await browser.newContext();
    const vp = await victim.newPage();
    await vp.goto(`${KEYCLOAK_URL}/realms/globex/account`);
    await vp.locator('#username').fill('bob@globex.example');
    await vp.locator('#password').fill('bob-pass');
    await vp.locator('#kc-login').click();
    await vp.waitForURL((u) => u.pathname.includes('/account'));
    // He opens the attacker's link: Keycloak's SSO sends him straight to the broker, which refuses.
    await vp.goto(lure);
    await vp.getByRole('heading', { name: 'Sign-in error' }).waitFor();
    const html = await vp.content();
    assert.match(html, /started in another browser/);
    assert.doesNotMatch(html, /Device connected/);
    await victim.close();
    const res = await post(`${b.url}/api/v1/platform/oauth/token`, { grant_type: DEVICE_GRANT, client_id: 'tv-demo', device_code: d.device_code });
    assert.equal(res.body.error, 'authorization_pending', 'the attacker\'s device gets nothing');
  });
});
