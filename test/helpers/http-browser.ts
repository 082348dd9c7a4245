/**
 * A small browser over fetch for flows that need no JavaScript: it keeps cookies per
 * host and path (RFC 6265 §5.1.4: a realm's Keycloak cookies go to that realm's paths only, as
 * a browser sends them), follows redirects one by one (so a test sees each hop), and fills and
 * submits forms. It stops at any URL under `stopAt` (the app's redirect URI) without requesting
 * it, or any URL that `stopAt` matches when it is a pattern.
 */
export interface Page {
  url: URL;
  status: number;
  html: string;
  headers: Headers;
}

interface Cookie { name: string; value: string; path: string }

const decode = (s: string) => s.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=').replace(/&quot;/g, '"').replace(/&#39;/g, "'");

/** RFC 6265 §5.1.4: the request path's directory, when the cookie names no path. */
const defaultPath = (url: URL) => {
  const cut = url.pathname.lastIndexOf('/');
  return cut <= 0 ? '/' : url.pathname.slice(0, cut);
};
const pathMatches = (requestPath: string, path: string) =>
  requestPath === path || (requestPath.startsWith(path) && (path.endsWith('/') || requestPath[path.length] === '/'));

export class HttpBrowser {
  /** By host, then by path and name (one cookie name may be set at two paths: two realms). */
  private readonly jars = new Map<string, Map<string, Cookie>>();
  readonly hops: URL[] = [];

  /** Changeable, so that a test can hold requests at one point and then send them on. */
  constructor(public stopAt: string | RegExp) {}

  private stops(url: URL): boolean {
    return typeof this.stopAt === 'string' ? url.href.startsWith(this.stopAt) : this.stopAt.test(url.href);
  }

  private jar(host: string): Map<string, Cookie> {
    const jar = this.jars.get(host) ?? new Map<string, Cookie>();
    this.jars.set(host, jar);
    return jar;
  }

  private cookieHeader(url: URL): string {
    // Longer paths first, as browsers order them (RFC 6265 §5.4).
    return [...this.jar(url.host).values()].filter((c) => pathMatches(url.pathname, c.path))
      .sort((x, y) => y.path.length - x.path.length).map((c) => `${c.name}=${c.value}`).join('; ');
  }

  private keep(url: URL, res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1);
      const named = attrs.map((a) => /^\s*path=(.*)$/i.exec(a)?.[1]?.trim()).find((p) => p?.startsWith('/'));
      const path = named ?? defaultPath(url);
      const expired = attrs.some((a) => /^\s*max-age=0/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      const jar = this.jar(url.host);
      if (expired || value === '') jar.delete(`${path}|${name}`);
      else jar.set(`${path}|${name}`, { name, value, path });
    }
  }

  /** Puts a cookie in the jar (path /), as a load balancer's one host would share it across replicas. */
  setCookie(host: string, name: string, value: string): void {
    this.jar(host).set(`/|${name}`, { name, value, path: '/' });
  }

  /** Forgets every cookie of `host` (a Keycloak server's: its realm sessions' cookies gone, as after their idle timeout). */
  forget(host: string): void {
    this.jars.delete(host);
  }

  /** The host's cookies by name (of one name at two paths, the longer path's). */
  cookies(host: string): Map<string, string> {
    const all = [...this.jar(host).values()].sort((x, y) => x.path.length - y.path.length);
    return new Map(all.map((c) => [c.name, c.value]));
  }

  /** Requests `url` (GET, or POST with a form) and follows redirects until a page or `stopAt`. */
  async go(url: string | URL, form?: Record<string, string>): Promise<Page> {
    let target = new URL(url);
    let init: RequestInit | undefined = form
      ? { method: 'POST', body: new URLSearchParams(form), headers: { 'content-type': 'application/x-www-form-urlencoded' } }
      : undefined;
    for (let i = 0; i < 20; i++) {
      this.hops.push(target);
      if (this.stops(target)) return { url: target, status: 0, html: '', headers: new Headers() };
      const headers = new Headers(init?.headers);
      headers.set('accept', 'text/html,application/xhtml+xml,*/*;q=0.8'); // as a browser navigates
      const cookie = this.cookieHeader(target);
      if (cookie) headers.set('cookie', cookie);
      const res = await fetch(target, { ...init, headers, redirect: 'manual' });
      this.keep(target, res);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        target = new URL(location, target);
        init = undefined;
        continue;
      }
      return { url: target, status: res.status, html: await res.text(), headers: res.headers };
    }
    throw new Error('too many redirects');
  }

  /** Submits the form of `page` matched by `formPattern` (a regex on the <form> tag), with `fields` over its inputs' values. */
  async submit(page: Page, fields: Record<string, string>, formPattern = /<form[^>]*>/): Promise<Page> {
    const tag = formPattern.exec(page.html)?.[0];
    if (!tag) throw new Error(`no form on ${page.url} (${page.status}): ${page.html.slice(0, 300)}`);
    const start = page.html.indexOf(tag);
    const body = page.html.slice(start, page.html.indexOf('</form>', start));
    const action = decode(/action="([^"]*)"/.exec(tag)?.[1] ?? page.url.href);
    const hidden: Record<string, string> = {};
    // Every input that has a value, as a browser would send it (hidden and pre-filled ones).
    for (const m of body.matchAll(/<input[^>]*value="[^"]*"[^>]*>/g)) {
      const name = /name="([^"]*)"/.exec(m[0])?.[1];
      const value = /value="([^"]*)"/.exec(m[0])?.[1] ?? '';
      if (name) hidden[name] = decode(value);
    }
    return this.go(new URL(action, page.url), { ...hidden, ...fields });
  }

  /** Keycloak's login form: username and password. */
  async keycloakLogin(page: Page, username: string, password: string): Promise<Page> {
    return this.submit(page, { username, password, credentialId: '' }, /<form[^>]*id="kc-form-login"[^>]*>/);
  }
}
