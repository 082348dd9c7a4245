/** Issue 11, item 4: pushed authorization requests (RFC 9126), with an unmodified openid-client. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as oidc from 'openid-client';
import { post, startBroker, type TestBroker } from '../helpers/broker.js';
import { HttpBrowser } from '../helpers/http-browser.js';
import { REDIS_URL, cleanRedisPrefix } from '../helpers/services.js';
import demo from '../../demo.config.json' with { type: 'json' };

const APP = 'http://127.0.0.1:8765/';

describe('pushed authorization requests (RFC 9126)', function () {
  this.timeout(60_000);
  const prefix = `rb-test:${randomUUID()}:`;
  let a: TestBroker;
  let b: TestBroker;
  before(async () => {
    // Two replicas on one Redis: the request is pushed to one and used at the other.
    const overrides = { apps: { ...demo.apps, 'platform-demo': { ...demo.apps['platform-demo'], requirePushedAuthorizationRequests: true } } };
    const env = { REDIS_URL, STORE_PREFIX: prefix };
    a = await startBroker({ env, overrides });
    b = await startBroker({ env, overrides });
    b.deps.config.publicUrl = a.url;
  });
  after(async () => {
    await a.close();
    await b.close();
    await cleanRedisPrefix(prefix);
  });

  const rp = () => oidc.discovery(new URL(`${a.url}/api/v1/platform/oauth`), 'platform-demo', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });

  it('openid-client pushes, the browser signs in with request_uri only, the code redeems; the request_uri works once', async () => {
    const config = await rp();
    assert.equal(config.serverMetadata().pushed_authorization_request_endpoint, `${a.url}/api/v1/platform/oauth/par`);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = await oidc.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: `${APP}callback`, scope: 'openid email', state: 'par-state', login_hint: 'alice@acme.example',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request_uri']);
    const browser = new HttpBrowser(APP);
    let page = await browser.go(url);
    page = await browser.keycloakLogin(page, 'alice@acme.example', 'alice-pass');
    assert.ok(page.url.href.startsWith(`${APP}callback`), String(page.url));
    const tokens = await oidc.authorizationCodeGrant(config, page.url, { pkceCodeVerifier: verifier, expectedState: 'par-state' });
    assert.equal(tokens.claims()?.email, 'alice@acme.example');
    const again = await new HttpBrowser(APP).go(url);
    assert.equal(again.status, 400, 'single use');
  });

  it('a request pushed to one replica is used at another', async () => {
    const pushed = await post(`${b.url}/api/v1/platform/oauth/par`, {
      client_id: 'platform-demo', response_type: 'code', redirect_uri: `${APP}callback`, scope: 'openid', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256',
    });
    assert.equal(pushed.status, 201, pushed.text);
    assert.equal(pushed.body.expires_in, 60);
    const res = await fetch(`${a.url}/api/v1/platform/oauth/authorize?${new URLSearchParams({ client_id: 'platform-demo', request_uri: pushed.body.request_uri })}`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.match(res.headers.get('location')!, /\/login\?tx=|\/realms\//);
  });

  it('a request_uri presented by another client or at another issuer is refused, and stays its client\'s (attack helper round 31)', async () => {
    // It is in the browser's address: whoever sees it could otherwise cancel the sign-in.
    const pushed = await post(`${a.url}/api/v1/platform/oauth/par`, {
      client_id: 'platform-demo', response_type: 'code', redirect_uri: `${APP}callback`, scope: 'openid', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256',
    });
    assert.equal(pushed.status, 201, pushed.text);
    const at = (base: string, clientId: string) => fetch(`${base}?${new URLSearchParams({ client_id: clientId, request_uri: pushed.body.request_uri })}`, { redirect: 'manual' });
    assert.equal((await at(`${a.url}/api/v1/platform/oauth/authorize`, 'tv-demo')).status, 400, 'another client');
    assert.equal((await at(`${a.url}/api/v1/auth/tenants/acme/oauth/authorize`, 'platform-demo')).status, 400, 'another issuer');
    const res = await at(`${a.url}/api/v1/platform/oauth/authorize`, 'platform-demo');
    assert.equal(res.status, 302, 'still there for its own client');
    assert.equal((await at(`${a.url}/api/v1/platform/oauth/authorize`, 'platform-demo')).status, 400, 'and used once');
  });

  it('an app that must push is refused a plain authorize; a bad push is a 400 with the reason', async () => {
    const res = await fetch(`${a.url}/api/v1/platform/oauth/authorize?${new URLSearchParams({
      client_id: 'platform-demo', redirect_uri: `${APP}callback`, response_type: 'code', scope: 'openid',
      code_challenge: 'a'.repeat(43), code_challenge_method: 'S256', state: 's',
    })}`, { redirect: 'manual' });
    const back = new URL(res.headers.get('location')!);
    assert.equal(back.searchParams.get('error'), 'invalid_request');
    assert.match(back.searchParams.get('error_description')!, /PAR/);
    const bad = await post(`${a.url}/api/v1/platform/oauth/par`, { client_id: 'platform-demo', response_type: 'code', redirect_uri: 'https://evil.example/cb', scope: 'openid', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'invalid_request');
    const secret = await post(`${a.url}/api/v1/platform/oauth/par`, { client_id: 'platform-service', client_secret: 'wrong', response_type: 'code' });
    assert.equal(secret.status, 401);
    const foreign = await fetch(`${a.url}/api/v1/platform/oauth/authorize?client_id=tv-demo&request_uri=urn:ietf:params:oauth:request_uri:nope`);
    assert.equal(foreign.status, 400);
  });
});

// Attack helper, 2026-12-06: platform-demo is public, so anyone could push requests as it, with
// a 64 KiB state each and no limit: 60,000 of them took a broker past its heap limit.
describe('pushed authorization requests anyone can make', function () {
  this.timeout(60_000);
  let broker: TestBroker;
  const SIGN_INS = 5;
  before(async () => {
    broker = await startBroker({
      overrides: {
        platform: { ...demo.platform, signInsPerAddress: SIGN_INS },
        apps: { ...demo.apps, 'web-backend': { name: 'A confidential web app', global: true, public: false, clientSecret: 'web-backend-secret', redirectUris: [`${APP}callback`], grantTypes: ['authorization_code'] } },
      },
    });
  });
  after(() => broker?.close());

  const push = (fields: Record<string, string>) => post(`${broker.url}/api/v1/platform/oauth/par`, {
    response_type: 'code', redirect_uri: `${APP}callback`, scope: 'openid', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256', ...fields,
  });

  it('a public app\'s pushes count as sign-ins started from the address; a confidential app\'s backend is not limited', async () => {
    const statuses = await Promise.all(Array.from({ length: SIGN_INS + 3 }, () => push({ client_id: 'platform-demo' })));
    assert.deepEqual(statuses.map((r) => r.status).sort(), [...Array(SIGN_INS).fill(201), ...Array(3).fill(429)]);
    const refused = statuses.find((r) => r.status === 429)!;
    assert.equal(refused.body.error, 'rate_limited');
    assert.ok(refused.headers.get('retry-after'), 'Retry-After');
    for (let i = 0; i < SIGN_INS + 3; i++) {
      const res = await push({ client_id: 'web-backend', client_secret: 'web-backend-secret' });
      assert.equal(res.status, 201, res.text);
    }
  });

  it('a device code\'s scope past 2,048 characters is refused (it was kept with the code for its life)', async () => {
    const res = await post(`${broker.url}/api/v1/platform/oauth/device/authorize`, { client_id: 'tv-demo', scope: `openid ${'x'.repeat(2048)}` });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.error, 'invalid_scope');
    assert.match(res.body.error_description, /scope is longer than 2048 characters/);
  });

  it('a state, nonce or login_hint past its length is refused with the reason, and nothing is kept', async () => {
    for (const [field, max] of [['state', 4096], ['nonce', 512], ['login_hint', 512]] as const) {
      const res = await push({ client_id: 'web-backend', client_secret: 'web-backend-secret', [field]: 'x'.repeat(max + 1) });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.error, 'invalid_request');
      assert.match(res.body.error_description, new RegExp(`${field} is longer than ${max} characters`));
      assert.equal((await push({ client_id: 'web-backend', client_secret: 'web-backend-secret', [field]: 'x'.repeat(max) })).status, 201);
    }
  });
});
