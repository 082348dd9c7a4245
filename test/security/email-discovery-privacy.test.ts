/**
 * Issue 8, defect 14: with `emailWithoutDomainRule: ask`, an address that no domain rule
 * covers gets the same answer whether it has an account (carol, at globex) or not: a page
 * of the broker's asking for the organisation. No realm redirect tells anything.
 */
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { HttpBrowser } from '../helpers/http-browser.js';
import { KEYCLOAK2_URL, KEYCLOAK_URL } from '../helpers/services.js';

const APP = 'http://127.0.0.1:8765/';

describe('email discovery that reveals no account (emailWithoutDomainRule: ask)', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker({ overrides: { platform: { homeTenant: 'acme', idTokenTtlSeconds: 300, deviceCodeTtlSeconds: 600, deviceIntervalSeconds: 5, userCodeAttempts: 10, discoveryAttempts: 100, emailWithoutDomainRule: 'ask' } } });
  });
  after(() => broker.close());

  const start = (browser: HttpBrowser, email: string) => browser.go(`${broker.url}/api/v1/platform/oauth/authorize?${new URLSearchParams({
    client_id: 'platform-demo', redirect_uri: `${APP}callback`, response_type: 'code', scope: 'openid',
    code_challenge: 'a'.repeat(43), code_challenge_method: 'S256', login_hint: email,
  })}`);
  const shape = (html: string) => html.replace(/value="[^"]*"|nonce-[^']+'|nonce="[^"]*"/g, '');

  it('carol (an account at globex) and an unknown address see the same page; typing the organisation goes on', async () => {
    const carol = new HttpBrowser(APP);
    const known = await start(carol, 'carol@contractor.example');
    const unknown = await start(new HttpBrowser(APP), 'nobody@contractor.example');
    assert.equal(known.status, 200);
    assert.equal(known.url.origin, broker.url, 'no realm redirect');
    assert.equal(shape(known.html), shape(unknown.html));
    assert.match(known.html, /Which organisation/);
    const wrong = await carol.submit(known, { organisation: 'initrode' });
    assert.match(wrong.html, /No organisation of that name/);
    const next = await carol.submit(wrong, { organisation: 'Globex' });
    assert.ok(next.url.href.startsWith(`${KEYCLOAK_URL}/realms/globex/`), String(next.url));
    assert.equal(next.url.searchParams.get('login_hint'), 'carol@contractor.example');
  });

  it('a name two tenants answer to (a slug or a display name) names neither: no admin captures another tenant\'s sign-ins', async () => {
    // A realm's admin sets its display name and its name (the slug): here acme's display name
    // takes globex's slug, and globex and initech share one (config stands in for what the
    // admins would set in their realms).
    const named = await startBroker({
      overrides: {
        platform: { homeTenant: 'acme', idTokenTtlSeconds: 300, deviceCodeTtlSeconds: 600, deviceIntervalSeconds: 5, userCodeAttempts: 10, discoveryAttempts: 100, emailWithoutDomainRule: 'ask' },
        tenants: { acme: { displayName: 'globex' }, globex: { displayName: 'Globex Corp' }, initech: { displayName: 'Globex Corp' } },
      },
    });
    try {
      const begin = (browser: HttpBrowser) => browser.go(`${named.url}/api/v1/platform/oauth/authorize?${new URLSearchParams({
        client_id: 'platform-demo', redirect_uri: `${APP}callback`, response_type: 'code', scope: 'openid',
        code_challenge: 'a'.repeat(43), code_challenge_method: 'S256', login_hint: 'carol@contractor.example',
      })}`);
      const carol = new HttpBrowser(APP);
      const shared = await carol.submit(await begin(carol), { organisation: 'Globex Corp' });
      assert.equal(shared.url.origin, named.url, 'no realm chosen');
      assert.match(shared.html, /Several organisations go by that name/);
      // globex's slug is acme's display name: neither, where taking the slug first would let
      // a realm renamed to another tenant's display name take its users.
      const slugAndName = await carol.submit(shared, { organisation: 'globex' });
      assert.equal(slugAndName.url.origin, named.url, 'no realm chosen');
      assert.match(slugAndName.html, /Several organisations go by that name/);
      // A name one tenant alone answers to goes on.
      const initech = await carol.submit(slugAndName, { organisation: 'initech' });
      assert.ok(initech.url.href.startsWith(`${KEYCLOAK2_URL}/realms/initech/`), String(initech.url));
    } finally {
      await named.close();
    }
  });

  it('domain rules still route at once (alice → acme)', async () => {
    const page = await start(new HttpBrowser(APP), 'alice@acme.example');
    assert.ok(page.url.href.startsWith(`${KEYCLOAK_URL}/realms/acme/`), String(page.url));
  });
});
