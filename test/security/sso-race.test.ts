/**
 * Two sign-ins that finish at the same moment in one browser (two tabs, two apps) each read
 * the browser's broker session as it was and wrote it back whole: the app of one dropped out
 * of the session's back-channel list, or (another user, another tenant) one new session was
 * linked from nowhere, and the browser's sign-out left it, its realm session and its refresh
 * token alive. Now a browser's sign-ins take their turn at its session (sso-open.ts).
 *
 * Against the real Keycloak servers. The store's writes of broker sessions are held back
 * 300 ms, so that both callbacks read before either writes: without turns the race is then
 * certain, not a matter of timing.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { MemoryStore } from '../../src/store/memory-store.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { HttpBrowser } from '../helpers/http-browser.js';
import { APP, APP_REDIRECT, relyingParty } from '../helpers/platform-rp.js';

/** A memory store whose writes of broker sessions take 300 ms. */
class SlowSessionWrites extends MemoryStore {
  override async put<T>(key: string, value: T, ttlSeconds: number): Promise<void> {
    if (key.startsWith('sso:')) await new Promise((resolve) => setTimeout(resolve, 300));
    return super.put(key, value, ttlSeconds);
  }
}

describe('two sign-ins finishing at once in one browser', function () {
  this.timeout(120_000);
  let broker: TestBroker;
  before(async () => { broker = await startBroker({ store: new SlowSessionWrites() }); });
  after(() => broker.close());
  const platform = () => `${broker.url}/api/v1/platform/oauth`;
  const tenantIssuer = (slug: string) => `${broker.url}/api/v1/auth/tenants/${slug}/oauth`;
  const CALLBACK = /\/oauth\/callback\?/;

  /** Starts a sign-in of `user` at `issuer` in `browser`, up to the realm's redirect to the broker's callback. */
  async function upToCallback(browser: HttpBrowser, issuer: string, user: string) {
    const config = await relyingParty(issuer);
    const verifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const state = oidc.randomState();
    let page = await browser.go(oidc.buildAuthorizationUrl(config, {
      redirect_uri: APP_REDIRECT, scope: 'openid email', state, nonce, login_hint: user,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }));
    if (/<form[^>]*id="kc-form-login"/.test(page.html)) page = await browser.keycloakLogin(page, user, `${user.split('@')[0]}-pass`);
    assert.match(page.url.href, CALLBACK, `held at the broker's callback, not ${page.url} (${page.status}): ${page.html.slice(0, 200)}`);
    return { config, verifier, nonce, state, callback: page.url };
  }

  /** Sends both callbacks at once; returns each app's tokens. */
  async function finishTogether(browser: HttpBrowser, flows: Awaited<ReturnType<typeof upToCallback>>[]) {
    browser.stopAt = APP;
    const backs = await Promise.all(flows.map((f) => browser.go(f.callback)));
    return Promise.all(flows.map((f, i) => {
      assert.ok(backs[i]!.url.href.startsWith(APP_REDIRECT), `back at the app: ${backs[i]!.url} ${backs[i]!.html.slice(0, 200)}`);
      return oidc.authorizationCodeGrant(f.config, backs[i]!.url, { pkceCodeVerifier: f.verifier, expectedNonce: f.nonce, expectedState: f.state });
    }));
  }

  const refreshes = async (config: oidc.Configuration, refreshToken: string) =>
    oidc.refreshTokenGrant(config, refreshToken).then(() => true, (err: { error?: string }) => {
      assert.equal(err.error, 'invalid_grant', String(err));
      return false;
    });

  it('one user at two apps: the browser\'s session lists both apps', async () => {
    const browser = new HttpBrowser(CALLBACK);
    const flows = [
      await upToCallback(browser, platform(), 'alice@acme.example'),
      await upToCallback(browser, tenantIssuer('acme'), 'alice@acme.example'),
    ];
    await finishTogether(browser, flows);
    const sso = browser.cookies(new URL(broker.url).host).get('rb_sso')!;
    const session = await broker.deps.store.get<{ clients: { issuer: string }[] }>(`sso:${sso}`);
    assert.deepEqual(session?.clients.map((c) => c.issuer).sort(), [platform(), tenantIssuer('acme')].sort(),
      'each app is told when the session ends');
  });

  it('two users of two tenants on two servers: the browser\'s sign-out ends both', async () => {
    const browser = new HttpBrowser(CALLBACK);
    const flows = [
      await upToCallback(browser, platform(), 'bob@globex.example'),
      await upToCallback(browser, platform(), 'erin@initech.example'),
    ];
    const tokens = await finishTogether(browser, flows);
    for (const [i, t] of tokens.entries()) assert.equal(await refreshes(flows[i]!.config, t.refresh_token!), true);
    const asked = await browser.go(`${platform()}/logout`, { client_id: 'platform-demo', post_logout_redirect_uri: APP });
    const done = asked.url.href.startsWith(APP) ? asked : await browser.submit(asked, {});
    assert.ok(done.url.href.startsWith(APP), `signed out: ${done.url} ${done.html.slice(0, 200)}`);
    for (const [i, f] of flows.entries()) {
      assert.equal(await refreshes(f.config, tokens[i]!.refresh_token!), false, `${i === 0 ? 'bob' : 'erin'}'s realm session ended with the browser's sign-out`);
    }
  });
});
