/**
 * Drives Keycloak's real login form over HTTP, as a browser would without JavaScript:
 * GET the authorization URL, POST the credentials to the form's action with the cookies
 * it set, and return the redirect (with `code`) that Keycloak answers — without
 * following it, so the redirect URI need not be served.
 */
import { KEYCLOAK_URL } from './services.js';

export interface AuthorizeParams {
  realm: string;
  clientId: string;
  redirectUri: string;
  scope?: string;
  state?: string;
  codeChallenge?: string;
  /** The Keycloak server of the realm (default: server 1). */
  baseUrl?: string;
}

class CookieJar {
  private readonly cookies = new Map<string, string>();
  take(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, i).trim(), pair!.slice(i + 1));
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

const decodeHtml = (s: string) => s.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=').replace(/&quot;/g, '"');

/** Signs in at the realm's login page; returns the URL Keycloak redirects to. */
export async function loginAtKeycloak(p: AuthorizeParams, username: string, password: string): Promise<URL> {
  const auth = new URL(`${p.baseUrl ?? KEYCLOAK_URL}/realms/${p.realm}/protocol/openid-connect/auth`);
  auth.search = new URLSearchParams({
    response_type: 'code',
    client_id: p.clientId,
    redirect_uri: p.redirectUri,
    scope: p.scope ?? 'openid',
    state: p.state ?? 'state-' + Math.random().toString(36).slice(2),
    ...(p.codeChallenge ? { code_challenge: p.codeChallenge, code_challenge_method: 'S256' } : {}),
  }).toString();
  return submitKeycloakLogin(auth, username, password);
}

/** Signs in at any Keycloak login page (an authorization URL of any server); returns the redirect. */
export async function submitKeycloakLogin(auth: URL | string, username: string, password: string): Promise<URL> {
  const jar = new CookieJar();
  const page = await fetch(auth, { redirect: 'manual' });
  jar.take(page);
  const html = await page.text();
  const action = /<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error(`no login form at ${auth} (status ${page.status}): ${html.slice(0, 300)}`);
  const submit = await fetch(decodeHtml(action), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
    body: new URLSearchParams({ username, password, credentialId: '' }),
  });
  const location = submit.headers.get('location');
  if (submit.status !== 302 || !location) throw new Error(`login did not redirect (status ${submit.status})`);
  return new URL(location);
}
