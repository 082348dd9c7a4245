/**
 * The device flow end to end with a real headless Chromium playing the user: alice
 * approves on replica A while the device polls replica B (shared Redis).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as jose from 'jose';
import { chromium, type Browser } from 'playwright-core';
import { claims, deviceOverrides, post, startBroker, type TestBroker } from '../helpers/broker.js';
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
    await page.getByRole('heading', { name: 'Allow TV demo app?' }).waitFor();
    assert.match(await page.content(), /email/);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByLabel('Email address').fill('alice@acme.example');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((u) => u.href.startsWith(KEYCLOAK_URL));
    await page.locator('#password').fill('alice-pass');
    await page.locator('#kc-login').click();
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
    const jwks = jose.createRemoteJWKSet(new URL(`${a.url}/api/v1/platform/.well-known/jwks.json`));
    await jose.jwtVerify(result.body.access_token, jwks);
    const { payload } = await jose.jwtVerify(result.body.id_token, jwks, { issuer: `${a.url}/api/v1/platform/oauth`, audience: 'tv-demo' });
    assert.equal(payload.sub, at.sub);
    const introspection = await post(`${a.url}/auth/api/v1/oauth/connect/introspect`, { token: result.body.access_token });
    assert.equal(introspection.body.active, true, 'active at acme');
  });
});
