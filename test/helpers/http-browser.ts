/**
 * A small browser over fetch for flows that need no JavaScript: it keeps cookies per
 * host, follows redirects one by one (so a test sees each hop), and fills and submits
 * forms. It stops at any URL under `stopAt` (the app's redirect URI) without requesting it,
 * or any URL that `stopAt` matches when it is a pattern.
 */
export interface Page {
  url: URL;
  status: number;
  html: string;
  headers: Headers;
}

const decode = (s: string) => s.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=').replace(/&quot;/g, '"').replace(/&#39;/g, "'");

export class HttpBrowser {
  private readonly jars = new Map<string, Map<string, string>>();
  readonly hops: URL[] = [];

  /** Changeable, so that a test can hold requests at one point and then send them on. */
  constructor(public stopAt: string | RegExp) {}

  private stops(url: URL): boolean {
    return typeof this.stopAt === 'string' ? url.href.startsWith(this.stopAt) : this.stopAt.test(url.href);
  }

  private cookieHeader(url: URL): string {
    const jar = this.jars.get(url.host);
    return jar ? [...jar].map(([k, v]) => `${k}=${v}`).join('; ') : '';
  }

  private keep(url: URL, res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1);
      const jar = this.jars.get(url.host) ?? new Map<string, string>();
      const expired = attrs.some((a) => /^\s*max-age=0/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
      this.jars.set(url.host, jar);
    }
  }

  /** Puts a cookie in the jar, as a load balancer's one host would share it across replicas. */
  setCookie(host: string, name: string, value: string): void {
    const jar = this.jars.get(host) ?? new Map<string, string>();
    jar.set(name, value);
    this.jars.set(host, jar);
  }

  cookies(host: string): Map<string, string> {
    return this.jars.get(host) ?? new Map();
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
