/**
 * The platform sign-in in a real headless Chromium (Debian's chromium, driven by
 * playwright-core): the broker's email page, Keycloak's own login page, the chooser,
 * back to the app; then logout ends both sessions. The app's redirect URI is served for
 * real by a tiny HTTP server (Playwright does not route redirect targets).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import * as oidc from 'openid-client';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { CHROMIUM, KEYCLOAK_URL } from '../helpers/services.js';

const APP_PORT = 8765;
const APP = `http://127.0.0.1:${APP_PORT}/`;
const REDIRECT = `${APP}callback`;

describe('Platform sign-in in headless Chromium', function () {
  this.timeout(60_000);
  let broker: TestBroker;
  let browser: Browser;
  let app: Server;
  let config: oidc.Configuration;

  before(async () => {
    broker = await startBroker();
    app = createServer((req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><title>demo app</title><p id="where">${req.url?.startsWith('/callback') ? 'callback' : 'home'}</p>`);
    });
    await new Promise<void>((resolve, reject) => app.once('error', reject).listen(APP_PORT, '127.0.0.1', resolve));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    config = await oidc.discovery(new URL(`${broker.url}/api/v1/platform/oauth`), 'platform-demo', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
  });
  after(async () => {
    await browser?.close();
    await new Promise((r) => app?.close(r));
    await broker?.close();
  });

  async function start(page: Page) {
    const verifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const state = oidc.randomState();
    await page.goto(oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT, scope: 'openid email profile', nonce, state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }).href);
    return async () => {
      await page.waitForURL((u) => u.href.startsWith(REDIRECT));
      return oidc.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state });
    };
  }

  async function emailStep(page: Page, email: string) {
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Continue' }).click();
  }

  async function keycloakStep(page: Page, password: string) {
    await page.waitForURL((u) => u.href.startsWith(KEYCLOAK_URL));
    await page.locator('#password').fill(password);
    await page.locator('#kc-login').click();
  }

  for (const [user, tenant, how] of [
    ['bob@globex.example', 'globex', 'domain discovery'],
    ['carol@contractor.example', 'globex', 'exact-email discovery'],
  ] as const) {
    it(`${how}: ${user} signs in at ${tenant}`, async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const finish = await start(page);
      assert.match(await page.title(), /Sign in to Platform demo app/);
      await emailStep(page, user);
      await keycloakStep(page, `${user.split('@')[0]}-pass`);
      const tokens = await finish();
      assert.equal(tokens.claims()?.tenant, tenant);
      assert.equal(tokens.claims()?.email, user);
      await context.close();
    });
  }

  it('the chooser: dave picks acme, then logout ends both sessions', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    let finish = await start(page);
    await emailStep(page, 'dave@shared.example');
    assert.match(await page.title(), /Choose your organisation/);
    await page.getByRole('button', { name: 'Acme' }).click();
    await keycloakStep(page, 'dave-pass');
    const tokens = await finish();
    assert.equal(tokens.claims()?.tenant, 'acme');

    // Signed in: a second authorize goes straight back to the app.
    finish = await start(page);
    await finish();

    // Logout, back to the app's registered post-logout URI.
    await page.goto(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: APP, state: 'bye' }).href);
    await page.waitForURL((u) => u.href.startsWith(APP) && u.searchParams.get('state') === 'bye');

    // Both sessions are gone: the email page first, then Keycloak asks for the password.
    await start(page);
    await emailStep(page, 'dave@shared.example');
    await page.getByRole('button', { name: 'Acme' }).click();
    await page.waitForURL((u) => u.href.startsWith(KEYCLOAK_URL));
    assert.equal(await page.locator('#password').count(), 1, 'Keycloak asks for the password again');
    await context.close();
  });
});
