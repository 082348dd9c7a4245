/**
 * The platform authorize/token endpoints against the attacks an identity broker must
 * stop: open redirects, PKCE downgrade or mismatch, code replay and code theft, CSRF on
 * the email form, account enumeration. Real Keycloak throughout.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { post, startBroker, type TestBroker } from '../helpers/broker.js';
import { HttpBrowser, type Page } from '../helpers/http-browser.js';
import { KEYCLOAK_URL } from '../helpers/services.js';

const APP = 'http://127.0.0.1:8765/';
const REDIRECT = `${APP}callback`;
const verifier = () => randomBytes(32).toString('base64url');
const challenge = (v: string) => createHash('sha256').update(v).digest('base64url');

describe('Platform OAuth security', () => {
  let broker: TestBroker;
  let oauth: string;
  before(async () => {
    broker = await startBroker({
      overrides: {
        apps: {
          'platform-demo': { name: 'Platform demo app', global: true, public: true, redirectUris: [REDIRECT], postLogoutRedirectUris: [APP], grantTypes: ['authorization_code', 'refresh_token'] },
          // A second app, to steal codes with.
          'tv-demo': { name: 'TV demo app', global: true, public: true, redirectUris: [REDIRECT], postLogoutRedirectUris: [], grantTypes: ['authorization_code', 'refresh_token'] },
        },
      },
    });
    oauth = `${broker.url}/api/v1/platform/oauth`;
  });
  after(() => broker.close());

  const authorizeUrl = (params: Record<string, string | undefined>) => {
    const u = new URL(`${oauth}/authorize`);
    const base = { response_type: 'code', client_id: 'platform-demo', redirect_uri: REDIRECT, scope: 'openid', state: 'st-1' };
    for (const [k, v] of Object.entries({ ...base, ...params })) if (v !== undefined) u.searchParams.set(k, v);
    return u;
  };
  const raw = (u: URL) => fetch(u, { redirect: 'manual' });

  /** Signs alice in and returns the broker code (not yet redeemed) and the verifier. */
  async function codeFor(user = 'alice@acme.example', clientId = 'platform-demo') {
    const v = verifier();
    const browser = new HttpBrowser(APP);
    let page: Page = await browser.go(authorizeUrl({ client_id: clientId, login_hint: user, code_challenge: challenge(v), code_challenge_method: 'S256' }));
    page = await browser.keycloakLogin(page, user, `${user.split('@')[0]}-pass`);
    assert.ok(page.url.href.startsWith(REDIRECT), String(page.url));
    return { code: page.url.searchParams.get('code')!, verifier: v, back: page.url };
  }
  const redeem = (code: string, v: string | undefined, extra: Record<string, string> = {}) =>
    post(`${oauth}/token`, { grant_type: 'authorization_code', client_id: 'platform-demo', code, redirect_uri: REDIRECT, code_verifier: v, ...extra });

  describe('open redirects', () => {
    for (const [what, params] of [
      ['an unknown client', { client_id: 'nobody' }],
      ['a realm client that is not GLOBAL', { client_id: 'connect-demo' }],
      ['an unregistered redirect URI', { redirect_uri: 'https://evil.example/callback' }],
      ['a prefix of the registered URI', { redirect_uri: `${REDIRECT}/../../evil` }],
      ['a longer URI', { redirect_uri: `${REDIRECT}x` }],
      ['a differently encoded URI', { redirect_uri: 'http://127.0.0.1:8765/%63allback' }],
      ['a different port', { redirect_uri: 'http://127.0.0.1:8766/callback' }],
      ['no redirect URI', { redirect_uri: undefined }],
    ] as const) {
      it(`shows an error page, never a redirect, for ${what}`, async () => {
        const res = await raw(authorizeUrl(params as Record<string, string | undefined>));
        assert.equal(res.status, 400);
        assert.equal(res.headers.get('location'), null);
        assert.match(res.headers.get('content-type')!, /text\/html/);
        assert.match(res.headers.get('content-security-policy')!, /default-src 'none'/);
      });
    }

    it('logout refuses an unregistered post-logout URI with a page', async () => {
      const res = await raw(new URL(`${oauth}/logout?client_id=platform-demo&post_logout_redirect_uri=${encodeURIComponent('https://evil.example/')}`));
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('location'), null);
    });
  });

  describe('errors after a valid redirect URI go back to the app (RFC 6749 §4.1.2.1)', () => {
    const expectError = async (params: Record<string, string | undefined>, error: string) => {
      const res = await raw(authorizeUrl(params));
      assert.equal(res.status, 302);
      const back = new URL(res.headers.get('location')!);
      assert.equal(`${back.origin}${back.pathname}`, REDIRECT);
      assert.equal(back.searchParams.get('error'), error);
      assert.equal(back.searchParams.get('state'), 'st-1', 'state comes back');
      assert.equal(back.searchParams.get('iss'), oauth);
    };
    it('PKCE missing for a public client', () => expectError({}, 'invalid_request'));
    it('PKCE plain', () => expectError({ code_challenge: challenge(verifier()), code_challenge_method: 'plain' }, 'invalid_request'));
    it('PKCE without a method', () => expectError({ code_challenge: challenge(verifier()) }, 'invalid_request'));
    it('response_type token', () => expectError({ response_type: 'token', code_challenge: challenge(verifier()), code_challenge_method: 'S256' }, 'unsupported_response_type'));
    it('a request object, registration, or a response_mode but query (round 32: ignored)', async () => {
      const pkce = () => ({ code_challenge: challenge(verifier()), code_challenge_method: 'S256' });
      await expectError({ ...pkce(), request: 'eyJhbGciOiJub25lIn0.e30.' }, 'request_not_supported');
      await expectError({ ...pkce(), registration: '{}' }, 'registration_not_supported');
      for (const mode of ['form_post', 'fragment']) await expectError({ ...pkce(), response_mode: mode }, 'invalid_request');
    });
    it('scope without openid', () => expectError({ scope: 'email', code_challenge: challenge(verifier()), code_challenge_method: 'S256' }, 'invalid_scope'));
    it('prompt=none without a session', () => expectError({ prompt: 'none', code_challenge: challenge(verifier()), code_challenge_method: 'S256' }, 'login_required'));
  });

  describe('codes', () => {
    it('round-trips state, and a wrong verifier fails (and burns the code)', async () => {
      const { code, verifier: v, back } = await codeFor();
      assert.equal(back.searchParams.get('state'), 'st-1');
      assert.equal(back.searchParams.get('iss'), oauth);
      const wrong = await redeem(code, verifier());
      assert.equal(wrong.status, 400);
      assert.equal(wrong.body.error, 'invalid_grant');
      assert.equal((await redeem(code, v)).status, 400, 'a code that failed once is gone');
    });

    it('a missing verifier fails', async () => {
      const { code } = await codeFor();
      const res = await redeem(code, undefined);
      assert.equal(res.body.error, 'invalid_grant');
    });

    it('a replayed code fails and revokes what its first use issued', async () => {
      const { code, verifier: v } = await codeFor();
      const first = await redeem(code, v);
      assert.equal(first.status, 200, first.text);
      const replay = await redeem(code, v);
      assert.equal(replay.status, 400);
      assert.equal(replay.body.error, 'invalid_grant');
      const refresh = await post(`${oauth}/token`, { grant_type: 'refresh_token', client_id: 'platform-demo', refresh_token: first.body.refresh_token });
      assert.equal(refresh.status, 400, `the first tokens are revoked: ${refresh.text}`);
      assert.equal(refresh.body.error, 'invalid_grant');
    });

    // Attack helper, 2026-12-06: the replay's revocation was made as the client that sent the
    // code again, which Keycloak refuses for another client's token, and the mark was gone for
    // the real replay: the first tokens lived on.
    it('a code replayed by another client first, then by its own, still revokes what it issued', async () => {
      const { code, verifier: v } = await codeFor();
      const first = await redeem(code, v);
      assert.equal(first.status, 200, first.text);
      assert.equal((await redeem(code, v, { client_id: 'tv-demo' })).body.error, 'invalid_grant');
      assert.equal((await redeem(code, v)).body.error, 'invalid_grant');
      const refresh = await post(`${oauth}/token`, { grant_type: 'refresh_token', client_id: 'platform-demo', refresh_token: first.body.refresh_token });
      assert.equal(refresh.status, 400, `the first tokens are revoked: ${refresh.text}`);
      assert.equal(refresh.body.error, 'invalid_grant');
    });

    it('a code used by another client fails', async () => {
      const { code, verifier: v } = await codeFor();
      const stolen = await redeem(code, v, { client_id: 'tv-demo' });
      assert.equal(stolen.status, 400);
      assert.equal(stolen.body.error, 'invalid_grant');
    });

    it('a code with another redirect URI fails', async () => {
      const { code, verifier: v } = await codeFor();
      const res = await redeem(code, v, { redirect_uri: 'http://127.0.0.1:8765/other' });
      assert.equal(res.body.error, 'invalid_grant');
    });

    it('the ID token carries the nonce', async () => {
      const v = verifier();
      const browser = new HttpBrowser(APP);
      let page = await browser.go(authorizeUrl({ login_hint: 'alice@acme.example', nonce: 'n-0S6_WzA2Mj', code_challenge: challenge(v), code_challenge_method: 'S256' }));
      page = await browser.keycloakLogin(page, 'alice@acme.example', 'alice-pass');
      const res = await redeem(page.url.searchParams.get('code')!, v);
      const idClaims = JSON.parse(Buffer.from(res.body.id_token.split('.')[1], 'base64url').toString());
      assert.equal(idClaims.nonce, 'n-0S6_WzA2Mj');
    });
  });

  describe('the email page', () => {
    async function emailPage() {
      const browser = new HttpBrowser(APP);
      const page = await browser.go(authorizeUrl({ code_challenge: challenge(verifier()), code_challenge_method: 'S256' }));
      assert.equal(page.status, 200);
      assert.match(page.html, /Platform demo app/, 'shows the app name');
      return { browser, page };
    }

    it('refuses a post without its CSRF token, or with another browser cookie', async () => {
      const { browser, page } = await emailPage();
      const noToken = await browser.submit(page, { email: 'alice@acme.example', csrf: '' });
      assert.equal(noToken.status, 403);
      const { page: page2 } = await emailPage();
      const otherBrowser = new HttpBrowser(APP); // has no rb_csrf cookie
      const forged = await otherBrowser.submit(page2, { email: 'alice@acme.example' });
      assert.equal(forged.status, 403);
    });

    it('limits email discoveries per client address (429 page with Retry-After)', async () => {
      const limited = await startBroker({ overrides: { platform: { homeTenant: 'acme', idTokenTtlSeconds: 300, deviceCodeTtlSeconds: 600, deviceIntervalSeconds: 5, userCodeAttempts: 10, discoveryAttempts: 2 } } });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 3; i++) {
          const u = new URL(authorizeUrl({ login_hint: `someone${i}@nowhere.example`, code_challenge: challenge(verifier()), code_challenge_method: 'S256' }).href.replace(broker.url, limited.url));
          const res = await fetch(u, { redirect: 'manual' });
          statuses.push(res.status);
          if (res.status === 429) {
            assert.ok(res.headers.get('retry-after'));
            assert.match(res.headers.get('content-type')!, /text\/html/);
          }
        }
        assert.deepEqual(statuses, [302, 302, 429]);
      } finally {
        await limited.close();
      }
    });

    it('an address with a control character is no address: the page asks again, a hint of one is not looked up (round 43: 502)', async () => {
      for (const email of ['z\u0000@nodomain.example', 'z\u0007@acme.example', 'z@acme\u0001.example']) {
        const { browser, page } = await emailPage();
        const again = await browser.submit(page, { email });
        assert.equal(again.status, 400, `${JSON.stringify(email)}: ${again.status}`);
        assert.match(again.html, /Enter an email address\./);
        const hinted = await fetch(authorizeUrl({ login_hint: email, code_challenge: challenge(verifier()), code_challenge_method: 'S256' }), { redirect: 'manual' });
        assert.ok(hinted.status < 500, `${JSON.stringify(email)} as login_hint: ${hinted.status}`);
      }
    });

    it('answers an unknown email like a known one (no enumeration)', async () => {
      const known = await emailPage();
      const a = await known.browser.submit(known.page, { email: 'alice@acme.example' });
      const unknown = await emailPage();
      const b = await unknown.browser.submit(unknown.page, { email: 'nobody-at-all@nowhere.example' });
      assert.ok(a.url.href.startsWith(KEYCLOAK_URL) && b.url.href.startsWith(KEYCLOAK_URL), 'both go on to a password page');
      assert.equal(a.status, b.status);
      assert.match(b.html, /kc-form-login/);
    });
  });
});
