/**
 * A sign-in started at a tenant's issuer ends at that tenant's realm, whatever its forms say
 * (attack helper, 2026-12-06): the email page, chooser and organisation page are mounted at
 * tenant issuers too, and a globex sign-in's own form sent the browser to acme's realm (or
 * initech's, on server 2); globex's issuer then signed an ID token for alice, `tenant: acme`.
 * And prompt=none shows no page of the broker's, nor passes values Keycloak would show an
 * error page for (OIDC Core §3.1.2.1). Against both real Keycloak servers.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { post, startBroker, type TestBroker } from '../helpers/broker.js';
import { HttpBrowser, type Page } from '../helpers/http-browser.js';
import { records } from '../../src/surfaces/platform/transactions.js';

const APP = 'http://127.0.0.1:8765/';
const CALLBACK = `${APP}callback`;
const verifier = randomBytes(32).toString('base64url');
const challenge = createHash('sha256').update(verifier).digest('base64url');

describe('a tenant issuer\'s sign-in stays with its tenant', function () {
  this.timeout(60_000);
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(() => broker?.close());

  const issuer = (slug?: string) => slug ? `${broker.url}/api/v1/auth/tenants/${slug}/oauth` : `${broker.url}/api/v1/platform/oauth`;
  const authorizeUrl = (at: string, extra: Record<string, string> = {}) => {
    const u = new URL(`${at}/authorize`);
    const params = { response_type: 'code', client_id: 'platform-demo', redirect_uri: CALLBACK, scope: 'openid email', state: 'app-state', code_challenge: challenge, code_challenge_method: 'S256', ...extra };
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return u;
  };
  /** The transaction id: the `state` the broker sent the realm. */
  const txOf = (browser: HttpBrowser) => browser.hops.find((u) => u.pathname.endsWith('/protocol/openid-connect/auth'))?.searchParams.get('state') ?? '';
  const wentToRealm = (browser: HttpBrowser, realm: string) => browser.hops.some((u) => u.pathname.startsWith(`/realms/${realm}/`));

  it('the email page of a globex sign-in does not send it to acme\'s realm (server 1) or initech\'s (server 2)', async () => {
    for (const [email, realm] of [['alice@acme.example', 'acme'], ['erin@initech.example', 'initech']] as const) {
      const browser = new HttpBrowser(APP);
      await browser.go(authorizeUrl(issuer('globex')));
      assert.ok(wentToRealm(browser, 'globex'));
      const emailPage = await browser.go(`${issuer('globex')}/login?tx=${encodeURIComponent(txOf(browser))}`);
      assert.equal(emailPage.status, 200, 'the page itself is shown (its form is what is checked)');
      const sent = await browser.submit(emailPage, { email });
      assert.equal(sent.status, 403, `${email}: ${sent.url} ${sent.html.slice(0, 200)}`);
      assert.match(sent.html, /for another organisation/);
      assert.ok(!wentToRealm(browser, realm), `never sent to ${realm}'s realm`);
    }
  });

  it('a form is answered only at the issuer it was started at', async () => {
    const browser = new HttpBrowser(APP);
    const emailPage: Page = await browser.go(authorizeUrl(issuer())); // the platform's email page
    const tx = /name="tx" value="([^"]+)"/.exec(emailPage.html)?.[1];
    const csrf = /name="csrf" value="([^"]+)"/.exec(emailPage.html)?.[1];
    assert.ok(tx && csrf, emailPage.html.slice(0, 300));
    const elsewhere = await browser.go(`${issuer('globex')}/login`, { tx, csrf, email: 'bob@globex.example' });
    assert.equal(elsewhere.status, 403, elsewhere.html.slice(0, 200));
    assert.ok(!wentToRealm(browser, 'globex'));
    // The page itself (and its form token) only to this browser, at this issuer (round 22).
    for (const [who, at] of [[new HttpBrowser(APP), issuer()], [browser, issuer('globex')]] as const) {
      const page = await who.go(`${at}/login?tx=${encodeURIComponent(tx)}`);
      assert.equal(page.status, 400, page.html.slice(0, 200));
      assert.ok(!page.html.includes(csrf), 'no form token');
    }
    assert.equal((await browser.go(`${issuer()}/login?tx=${encodeURIComponent(tx)}`)).status, 200, 'its own browser, its own issuer');
  });

  it('the organisation page answers only a sign-in that was asked for one (the ask rule; the demo looks up)', async () => {
    const browser = new HttpBrowser(APP);
    const emailPage = await browser.go(authorizeUrl(issuer()));
    const tx = /name="tx" value="([^"]+)"/.exec(emailPage.html)![1]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(emailPage.html)![1]!;
    const named = await browser.go(`${issuer()}/organisation`, { tx, csrf, organisation: 'globex' });
    assert.equal(named.status, 400, named.html.slice(0, 200));
    assert.match(named.html, /not asked for an organisation/);
    assert.ok(!wentToRealm(browser, 'globex'));
  });

  it('the organisation page (the ask rule) counts each name tried as a discovery', async () => {
    const ask = await startBroker({ overrides: { platform: { homeTenant: 'acme', idTokenTtlSeconds: 300, deviceCodeTtlSeconds: 600, deviceIntervalSeconds: 1, userCodeAttempts: 5, discoveryAttempts: 3, emailWithoutDomainRule: 'ask' } } });
    try {
      const browser = new HttpBrowser(APP);
      const at = `${ask.url}/api/v1/platform/oauth`;
      const u = authorizeUrl(at);
      const emailPage = await browser.go(u);
      let page = await browser.submit(emailPage, { email: 'dave@shared.example' });
      assert.match(page.html, /name="organisation"/, page.html.slice(0, 300));
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        page = await browser.submit(page, { organisation: `no-such-org-${i}` }, /<form[^>]*organisation[^>]*>/);
        statuses.push(page.status);
        if (page.status === 429) break;
      }
      assert.deepEqual(statuses, [400, 400, 429], 'one discovery for the email, two names (the page again), then 429');
    } finally {
      await ask.close();
    }
  });

  it('a code for another tenant\'s user is refused at a tenant issuer\'s token endpoint (the last word)', async () => {
    const code = randomBytes(16).toString('base64url');
    await records.code.put(broker.deps.store, code, {
      issuer: issuer('globex'), clientId: 'platform-demo', redirectUri: CALLBACK, codeChallenge: challenge, tenant: 'acme',
      tokens: { access_token: 'not-a-token', token_type: 'Bearer' },
    });
    const res = await post(`${issuer('globex')}/token`, { grant_type: 'authorization_code', client_id: 'platform-demo', code, redirect_uri: CALLBACK, code_verifier: verifier });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.error, 'invalid_grant');
    assert.match(res.body.error_description, /another organisation/);
  });

  it('prompt: unknown values and none with another are invalid_request; none shows no chooser or email page', async () => {
    const errorOf = async (extra: Record<string, string>, browser = new HttpBrowser(APP)) => {
      const end = await browser.go(authorizeUrl(issuer(), extra));
      assert.ok(end.url.href.startsWith(APP), `back at the app, not a page: ${end.url} ${end.status} ${end.html.slice(0, 200)}`);
      return end.url.searchParams;
    };
    assert.equal((await errorOf({ prompt: 'create' })).get('error'), 'invalid_request');
    assert.equal((await errorOf({ prompt: 'none login' })).get('error'), 'invalid_request');
    // alice signs in (an SSO session), then a silent request for dave, who would get the chooser.
    const browser = new HttpBrowser(APP);
    const login = await browser.go(authorizeUrl(issuer(), { login_hint: 'alice@acme.example' }));
    const signedIn = await browser.keycloakLogin(login, 'alice@acme.example', 'alice-pass');
    assert.ok(signedIn.url.searchParams.get('code'), signedIn.url.href);
    const other = await errorOf({ prompt: 'none', login_hint: 'dave@shared.example' }, browser);
    assert.equal(other.get('error'), 'login_required');
    assert.equal(other.get('state'), 'app-state');
    const notAnEmail = await errorOf({ prompt: 'none', login_hint: 'x' }, browser);
    assert.equal(notAnEmail.get('error'), 'login_required');
    // At acme's own issuer too: acme's realm would answer silently with alice (attack helper round 21).
    const atAcme = await browser.go(authorizeUrl(issuer('acme'), { prompt: 'none', login_hint: 'dave@shared.example' }));
    assert.equal(atAcme.url.searchParams.get('error'), 'login_required', atAcme.url.href);
    const aliceAtAcme = await browser.go(authorizeUrl(issuer('acme'), { prompt: 'none', login_hint: 'alice@acme.example' }));
    assert.ok(aliceAtAcme.url.searchParams.get('code'), aliceAtAcme.url.href);
    // The session's own user, hinted or not, is answered silently by her realm.
    for (const extra of [{ prompt: 'none', login_hint: 'alice@acme.example' }, { prompt: 'none' }] as Record<string, string>[]) {
      const silent = await errorOf(extra, browser);
      assert.ok(silent.get('code'), `${JSON.stringify(extra)}: ${silent}`);
    }
    // The realm answers with its own session's user: at initech's issuer (server 2, where dave
    // signed in), alice's hint is not the session's user, though alice is the broker's latest.
    const both = new HttpBrowser(APP);
    const daveLogin = await both.go(authorizeUrl(issuer('initech')));
    assert.ok((await both.keycloakLogin(daveLogin, 'dave@shared.example', 'dave-pass')).url.searchParams.get('code'));
    const aliceLogin = await both.go(authorizeUrl(issuer(), { login_hint: 'alice@acme.example' }));
    assert.ok((await both.keycloakLogin(aliceLogin, 'alice@acme.example', 'alice-pass')).url.searchParams.get('code'));
    const atInitech = await both.go(authorizeUrl(issuer('initech'), { prompt: 'none', login_hint: 'alice@acme.example' }));
    assert.equal(atInitech.url.searchParams.get('error'), 'login_required', atInitech.url.href);
    const meta = await (await fetch(`${issuer()}/.well-known/openid-configuration`)).json();
    assert.deepEqual(meta.prompt_values_supported, ['none', 'login', 'consent', 'select_account']);
  });
});
