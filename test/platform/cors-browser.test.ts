/**
 * Issue 11, item 5: a single-page app on another origin uses the platform from the
 * browser: the code flow with PKCE through fetch (discovery, token), userinfo, revocation,
 * in a real headless Chromium. And what CORS must not allow.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { CHROMIUM, KEYCLOAK_URL } from '../helpers/services.js';
import demo from '../../demo.config.json' with { type: 'json' };

/** The SPA: one page, plain JavaScript, the broker on another origin. */
const spa = (issuer: string, redirectUri: string) => `<!doctype html><html><body><pre id="out">starting</pre><script type="module">
const out = (x) => { document.getElementById('out').textContent = typeof x === 'string' ? x : JSON.stringify(x); };
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
const meta = await (await fetch('${issuer}/.well-known/openid-configuration')).json();
const params = new URLSearchParams(location.search);
if (!params.get('code')) {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  sessionStorage.setItem('verifier', verifier);
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const url = new URL(meta.authorization_endpoint);
  url.search = new URLSearchParams({ response_type: 'code', client_id: 'platform-demo', redirect_uri: '${redirectUri}', scope: 'openid email',
    code_challenge: challenge, code_challenge_method: 'S256', state: 'spa', login_hint: 'alice@acme.example' });
  location.assign(url);
} else {
  try {
    const token = await (await fetch(meta.token_endpoint, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code',
      client_id: 'platform-demo', code: params.get('code'), redirect_uri: '${redirectUri}', code_verifier: sessionStorage.getItem('verifier') }) })).json();
    const info = await (await fetch(meta.userinfo_endpoint, { headers: { authorization: 'Bearer ' + token.access_token } })).json();
    const revoked = await fetch(meta.revocation_endpoint, { method: 'POST', body: new URLSearchParams({ client_id: 'platform-demo', token: token.refresh_token, token_type_hint: 'refresh_token' }) });
    const again = await (await fetch(meta.token_endpoint, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'platform-demo', refresh_token: token.refresh_token }) })).json();
    out({ email: info.email, tenant: info.tenant, revoked: revoked.status, afterRevoke: again.error });
  } catch (err) { out('failed: ' + err); }
}
</script></body></html>`;

describe('a browser app on another origin (CORS), in headless Chromium', function () {
  this.timeout(90_000);
  let server: Server;
  let broker: TestBroker;
  let browser: Browser;
  let origin: string;
  before(async () => {
    let html = '';
    server = createServer((req, res) => { res.setHeader('content-type', 'text/html'); res.end(html); });
    server.listen(0, 'localhost');
    await new Promise((r) => server.once('listening', r));
    origin = `http://localhost:${(server.address() as AddressInfo).port}`;
    const app = { ...demo.apps['platform-demo'], redirectUris: [...demo.apps['platform-demo'].redirectUris, `${origin}/callback`] };
    broker = await startBroker({ overrides: { apps: { ...demo.apps, 'platform-demo': app } } });
    html = spa(`${broker.url}/api/v1/platform/oauth`, `${origin}/callback`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  });
  after(async () => {
    await browser?.close();
    await broker?.close();
    server?.close();
  });

  it('signs in with PKCE through fetch, reads userinfo and revokes', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    await page.waitForURL((u) => u.href.startsWith(KEYCLOAK_URL));
    await page.locator('#password').fill('alice-pass');
    await page.locator('#kc-login').click();
    await page.waitForURL((u) => u.href.startsWith(`${origin}/callback`));
    await page.waitForFunction(() => document.getElementById('out')?.textContent?.startsWith('{') || document.getElementById('out')?.textContent?.startsWith('failed'));
    const result = JSON.parse((await page.locator('#out').textContent())!);
    assert.deepEqual(result, { email: 'alice@acme.example', tenant: 'acme', revoked: 200, afterRevoke: 'invalid_grant' });
  });

  it('answers preflights for registered origins only, and never allows credentials', async () => {
    const pre = (o: string) => fetch(`${broker.url}/api/v1/platform/oauth/userinfo`, { method: 'OPTIONS', headers: { origin: o, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    const ok = await pre(origin);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), origin);
    assert.match(ok.headers.get('access-control-allow-headers')!, /authorization/);
    assert.equal(ok.headers.get('access-control-allow-credentials'), null);
    const evil = await pre('https://evil.example');
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    const token = await fetch(`${broker.url}/api/v1/platform/oauth/token`, { method: 'POST', headers: { origin: 'https://evil.example' }, body: new URLSearchParams({ grant_type: 'x' }) });
    assert.equal(token.headers.get('access-control-allow-origin'), null);
    const jwks = await fetch(`${broker.url}/api/v1/platform/.well-known/jwks.json`, { headers: { origin: 'https://evil.example' } });
    assert.equal(jwks.headers.get('access-control-allow-origin'), '*', 'public metadata: anyone');
    const authorize = await fetch(`${broker.url}/api/v1/platform/oauth/authorize`, { headers: { origin } });
    assert.equal(authorize.headers.get('access-control-allow-origin'), null, 'pages are not for fetch');
  });
});
