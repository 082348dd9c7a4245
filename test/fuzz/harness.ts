/**
 * One fuzz run against one broker: sends a request, decides what its answer must look
 * like (the surface by path prefix, any case; a page or JSON by the route the routers
 * pick and the kind of body), judges it with the oracle, and keeps the figures. Crashes
 * (uncaught exceptions, unhandled rejections) anywhere in the process fail the next case.
 */
import type { TestBroker } from '../helpers/broker.js';
import { KEYCLOAK_URL, REDIS_URL } from '../helpers/services.js';
import { Figures } from './figures.js';
import { check, type Expectation } from './oracle.js';
import { bodyBytes, type FuzzRequest } from './requests.js';
import { routeFor, routesOf, surfaceOfPath, type Route } from './routes.js';
import { send } from './send.js';
import { fillLive, live } from './values.js';

/** The request with every `{{name}}` replaced by its live value. */
function filled(req: FuzzRequest): FuzzRequest {
  const fill = (v: unknown): unknown => (typeof v === 'string' ? fillLive(v)
    : Array.isArray(v) ? v.map(fill)
      : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)])) : v);
  return fill(req) as FuzzRequest;
}

/** The three enctypes an HTML form can send (and no body at all). */
const BROWSER_TYPES = /^(application\/x-www-form-urlencoded|multipart\/form-data|text\/plain)\s*(;|$)/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;

export class Harness {
  readonly routes: Route[];
  readonly figures = new Figures();
  readonly crashes: string[] = [];
  private readonly internal: string[];
  private readonly onCrash = (err: unknown) => { this.crashes.push(err instanceof Error ? err.stack ?? err.message : String(err)); };

  constructor(readonly broker: TestBroker) {
    this.routes = routesOf(broker.app);
    this.internal = [new URL(KEYCLOAK_URL).host, new URL(REDIS_URL).host, 'localhost:8080'];
    process.on('uncaughtException', this.onCrash);
    process.on('unhandledRejection', this.onCrash);
  }

  stop(): void {
    process.off('uncaughtException', this.onCrash);
    process.off('unhandledRejection', this.onCrash);
  }

  /**
   * Values only the broker can hand out, so that fuzzed requests reach past the lookups: a
   * device code and its user code, a sign-in transaction with its CSRF cookie, access tokens, a refresh token.
   */
  async seed(): Promise<void> {
    const url = this.broker.url;
    const form = (fields: Record<string, string>) => ({ method: 'POST', body: new URLSearchParams(fields) });
    const device = await (await fetch(`${url}/api/v1/platform/oauth/device/authorize`, form({ client_id: 'tv-demo', scope: 'openid email' }))).json() as Record<string, string>;
    const authorize = new URL(`${url}/api/v1/platform/oauth/authorize`);
    authorize.search = new URLSearchParams({ response_type: 'code', client_id: 'platform-demo', redirect_uri: 'http://127.0.0.1:8765/callback', scope: 'openid',
      state: 's', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }).toString();
    const signIn = await fetch(authorize, { redirect: 'manual' });
    // The sign-in is bound to this "browser" (rb_bind); its forms carry the transaction's CSRF token.
    const bind = /rb_bind=([^;]+)/.exec(signIn.headers.getSetCookie().join(';'))?.[1] ?? '';
    const emailPage = await (await fetch(new URL(signIn.headers.get('location') ?? '/', url), { headers: { cookie: `rb_bind=${bind}` } })).text();
    const token = await (await fetch(`${url}/auth/api/v1/oauth/connect/token`, form({ client_id: 'connect-demo', client_secret: 'connect-demo-secret' }))).json() as Record<string, string>;
    // A right password never counts towards a lockout.
    const user = await (await fetch(`${url}/auth/api/v1/oauth/connect/user/login`, form({ username: 'alice@acme.example', password: 'alice-pass' }))).json() as Record<string, string>;
    Object.assign(live, {
      device_code: device.device_code, user_code: device.user_code,
      tx: new URL(signIn.headers.get('location') ?? '/', url).searchParams.get('tx') ?? '',
      csrf: /name="csrf" value="([^"]+)"/.exec(emailPage)?.[1] ?? '', bind,
      access_token: token.access_token, user_access_token: user.access_token, refresh_token: user.refresh_token,
    });
    for (const [k, v] of Object.entries(live)) if (!v) throw new Error(`fuzz seed ${k} missing`);
  }

  /** What the answer to `req` must look like. */
  expectation(req: FuzzRequest): Expectation {
    const surface = surfaceOfPath(req.path);
    if (!surface) throw new Error(`generated a path outside every surface: ${req.path}`);
    const route = routeFor(this.routes, req.method, req.path);
    const { contentType, data } = bodyBytes(req.body);
    const hasBody = data.toString('latin1').trim() !== '' || req.body.kind === 'lying';
    const browser = !hasBody || (contentType !== undefined && BROWSER_TYPES.test(contentType));
    const form = hasBody && contentType !== undefined && FORM_TYPE.test(contentType);
    // A page's path with another method (a 405 or 501): a page or the surface's JSON will do.
    const pagePath = !route && this.routes.some((r) => r.kind !== 'json' && r.layer.match(req.path));
    let answers: Expectation['answers'] = pagePath ? 'either' : 'json';
    if (route?.kind === 'page') answers = browser ? 'page' : 'either';
    else if (route?.kind === 'form-page') answers = form ? 'page' : browser && hasBody ? 'either' : 'json';
    return { surface, answers, method: req.method, internal: this.internal };
  }

  /** Sends `req` and returns the rules its answer breaks (empty: fine). */
  async exercise(generated: FuzzRequest): Promise<string[]> {
    const crashesBefore = this.crashes.length;
    const req = filled(generated);
    const exp = this.expectation(req);
    const answer = await send(this.broker.url, req);
    this.figures.answer(exp.surface, answer.status, answer.ms, `${req.method} ${req.path}`, answer.text);
    // The broker logs to memory in tests: judge, then forget, so the log is not what grows.
    this.broker.logs.length = 0;
    const problems = answer.status === 0 ? [answer.error ?? 'no answer'] : check(exp, answer);
    if (this.crashes.length > crashesBefore) problems.push(`process crash: ${this.crashes.at(-1)}`);
    if (problems.length) {
      problems.push(`answer: ${answer.status} ${String(answer.headers['content-type'] ?? '')} ${answer.text.slice(0, 300)}`);
    }
    return problems;
  }
}
