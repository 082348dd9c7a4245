/**
 * An app signing in at a broker issuer (platform or tenant level) as a real relying party
 * does it: openid-client 6 with every check on (discovery, PKCE, nonce, state), the
 * browser part played over HTTP against the broker's pages and the realm's real login
 * form, on whichever Keycloak server the tenant lives.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { HttpBrowser } from './http-browser.js';

export const APP = 'http://127.0.0.1:8765/';
export const APP_REDIRECT = `${APP}callback`;

export async function relyingParty(issuer: string, clientId = 'platform-demo'): Promise<oidc.Configuration> {
  // http:// only because the test broker has no TLS; every OIDC check stays on.
  return oidc.discovery(new URL(issuer), clientId, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
}

export interface SignInOptions {
  /** false: no login_hint, the broker's email page asks. */
  email?: boolean;
  /** The tenant to pick on the chooser page. */
  choose?: string;
  browser?: HttpBrowser;
  /** Where the broker's pages are (to tell them from the app's and Keycloak's). */
  brokerUrl: string;
}

/** Signs `user` (password: local part + "-pass") in at `issuer`; returns the RP's tokens. */
export async function signIn(issuer: string, user: string, opts: SignInOptions) {
  const config = await relyingParty(issuer);
  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: APP_REDIRECT, scope: 'openid email profile', state, nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    ...(opts.email === false ? {} : { login_hint: user }),
  });
  const browser = opts.browser ?? new HttpBrowser(APP);
  let page = await browser.go(url);
  if (opts.email === false && !page.url.href.startsWith(APP_REDIRECT) && page.url.href.startsWith(opts.brokerUrl)) {
    page = await browser.submit(page, { email: user });
  }
  const chooser = opts.choose ? page.html : undefined;
  if (opts.choose) page = await browser.submit(page, { tenant: opts.choose });
  // Keycloak's login form, on whichever server (or proxy in front of one) the tenant lives.
  if (/<form[^>]*id="kc-form-login"/.test(page.html)) {
    page = await browser.keycloakLogin(page, user, `${user.split('@')[0]}-pass`);
  }
  assert.ok(page.url.href.startsWith(APP_REDIRECT), `back at the app, not ${page.url} (${page.status}): ${page.html.slice(0, 200)}`);
  const tokens = await oidc.authorizationCodeGrant(config, page.url, { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state });
  return { config, tokens, browser, back: page.url, chooser };
}
