/**
 * The direct lane: the machine-to-machine JSON routes the broker serves most (the proxied
 * grants), answered on their canonical URL without Koa.
 *
 * Such a route is declared once, in its surface's route table, with `postDirect`: its input
 * shape and one `answer` function from the validated input to the JSON it sends. The table's
 * Koa router gets it as `guard` + an adapter, and serves every other form of the URL
 * (another letter case, a query string, HEAD or OPTIONS); the lane serves exactly
 * `POST <prefix><path>`, nothing else. It does what the Koa pipeline does for such a
 * request, with the same parts: request id and scope, access line and metrics
 * (request-context.ts), security headers (security-headers.ts), body reading (body.ts),
 * the deadline, the input check (guard.ts), JSON bytes (send-json.ts), and the one error
 * policy (error-handler.ts), CORS (cors.ts). Routes with pages, cookies or rate limits stay
 * in Koa (but for the refusal gate, refusal-gate.ts, which a direct route runs itself), and
 * so does a direct route whose path has parameters (the tenant issuers').
 *
 * Why: Koa's context, its middleware chain and the router were about a fifth of a proxied
 * grant's CPU in the broker, with Keycloak on the same cores (issue 12's benchmark).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Router from '@koa/router';
import type Koa from 'koa';
import type { Logger } from './logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Tenant } from '../tenancy/tenant.js';
import { endScope, runInScope, type RequestScope } from '../request-scope.js';
import { startDeadline } from '../upstream/deadline.js';
import { readBody } from './body.js';
import { clientAddress, requestAddress } from './client-address.js';
import { corsRuleOf, type CorsPolicy, type CorsRule } from './cors.js';
import type { ErrorPolicy, ErrorTarget } from './error-handler.js';
import { guard, inputChecker, type InputOf, type InputSource, type Shape } from './guard.js';
import { observe, requestIdOf } from './request-context.js';
import { asWritten, endInOneWrite, JSON_TYPE, jsonBytes, sendJson } from './send-json.js';

/** What a direct route may know of its request, in either carrier. */
export interface DirectRequest {
  /** A request header ('' when absent), as Koa's `ctx.get`. */
  get(name: string): string;
  /** The route's path parameters (none in the lane, which serves fixed paths only). */
  params: Readonly<Record<string, string>>;
  /** The tenant the route served, for the access line (the route sets it). */
  tenant?: Tenant;
  /** The client address per-address limits count (client-address.ts). */
  address(): string;
}

export interface DirectRoute<S extends Shape> {
  /** The route's name in its table (OpenAPI, tests). */
  name: string;
  /** Within the table's prefix, as Koa routes are declared. */
  path: string;
  input: S;
  /** Where the input may come from (guard.ts); the lane reads the body only. */
  sources?: InputSource[];
  answer(input: InputOf<S>, request: DirectRequest): Promise<object>;
}

/** Each direct route by its Koa adapter, which is how `DirectLane` finds it in a router's layers. */
const adapters = new WeakMap<Koa.Middleware, DirectRoute<Shape>>();

/** Declares a direct route on `router`: a Koa route as usual, which the lane serves too. */
export function postDirect<S extends Shape>(router: Router, route: DirectRoute<S>): void {
  const adapter = koaAnswer(route);
  adapters.set(adapter, route as unknown as DirectRoute<Shape>);
  router.post(route.name, route.path, guard(route.input, route.sources), adapter);
}

function koaAnswer<S extends Shape>(route: DirectRoute<S>): Koa.Middleware {
  return async function directRouteInKoa(ctx) {
    const request: DirectRequest = { get: (name) => ctx.get(name), params: ctx.params ?? {}, address: () => clientAddress(ctx) };
    try {
      sendJson(ctx, await route.answer(ctx.state.input as InputOf<S>, request));
    } finally {
      // For the access line, refusals included, as the lane logs them.
      if (request.tenant) ctx.state.tenant = request.tenant;
    }
  };
}

interface Entry {
  route: DirectRoute<Shape>;
  /** The full path, which is also the route's pattern in logs and metrics. */
  pattern: string;
  cors: CorsRule;
  check: ReturnType<typeof inputChecker<Shape>>;
}

export interface DirectLaneParts {
  log: Logger;
  metrics?: Metrics;
  errors: ErrorPolicy;
  /** The response headers every answer carries (security-headers.ts). */
  securityHeaders: readonly string[];
  cors: CorsPolicy;
  upstreamTimeoutMs: number;
  /** Config `trustProxy`: how the client address is read (client-address.ts). */
  trustProxy: number;
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

function headerOf(req: IncomingMessage, name: string): string {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value ?? '';
}

export class DirectLane {
  private readonly entries = new Map<string, Entry>();

  constructor(routers: Router[], private readonly parts: DirectLaneParts) {
    // A router's layers carry full paths, nested routers' included (the platform's /oauth).
    for (const router of routers) {
      for (const layer of router.stack) {
        const route = adapters.get(layer.stack.at(-1) as Koa.Middleware);
        if (!route || typeof layer.path !== 'string' || !layer.methods.includes('POST') || layer.paramNames.length > 0) continue;
        // The lane reads the body only: a query string sends the request to Koa.
        const pattern = layer.path;
        this.entries.set(pattern, { route, pattern, cors: corsRuleOf(pattern), check: inputChecker(route.input, route.sources) });
      }
    }
  }

  /** The direct route that serves `req` as it is, if any. */
  find(req: IncomingMessage): Entry | undefined {
    return req.method === 'POST' && req.url !== undefined ? this.entries.get(req.url) : undefined;
  }

  /** Serves `req` by `entry`; never throws (failures are answered by the error policy). */
  serve(entry: Entry, req: IncomingMessage, res: ServerResponse): void {
    const start = performance.now();
    let known: string | undefined; // read once: the refusal gate and each slot ask for it
    const address = () => (known ??= requestAddress(req, this.parts.trustProxy));
    const scope: RequestScope = { requestId: requestIdOf(req.headers['x-request-id']), upstreamMs: 0, address };
    const request: DirectRequest = { get: (name) => headerOf(req, name), params: NO_PARAMS, address };
    runInScope(scope, async () => {
      let status = 200;
      try {
        const { fields, kind } = await readBody(req);
        // One deadline for all of the request's calls to Keycloak, from here (as app.ts).
        startDeadline(this.parts.upstreamTimeoutMs);
        const body = jsonBytes(await entry.route.answer(entry.check(fields, kind), request));
        if (res.destroyed) return; // the caller went away (Koa skips writing then too)
        const head = [...this.parts.securityHeaders, 'X-Request-Id', scope.requestId, 'Content-Type', JSON_TYPE, 'Content-Length', String(body.length)];
        if (entry.cors) head.push(...this.parts.cors.answerHeaders(entry.cors, headerOf(req, 'origin')));
        res.writeHead(200, head);
        endInOneWrite(res, asWritten(body));
      } catch (thrown) {
        status = this.fail(thrown, entry, req, res, scope.requestId);
      } finally {
        endScope(scope);
        observe(this.parts.log, this.parts.metrics, {
          method: 'POST', route: entry.pattern, matched: true, status, ms: performance.now() - start,
          tenant: request.tenant?.slug, upstreamMs: scope.upstreamMs, reqId: scope.requestId,
        });
      }
    }).catch((err: unknown) => {
      // Only the answer's own writing or logging can get here: never a crash for one request.
      this.parts.log.error('a direct route failed past its error policy', { err, reqId: scope.requestId });
      if (!res.destroyed) res.destroy();
    });
  }

  /** Answers a failure as the Koa pipeline would (error-handler.ts); returns the status. */
  private fail(thrown: unknown, entry: Entry, req: IncomingMessage, res: ServerResponse, requestId: string): number {
    const target: ErrorTarget = {
      status: 500, type: '', body: undefined, state: {},
      set: (name, value) => res.setHeader(name, value),
      get: (name) => headerOf(req, name),
    };
    if (res.headersSent || res.destroyed) {
      // Nothing more can be said on this response (the caller went away, or the answer had
      // begun): logged as the policy says, counted with its status, and the connection ended.
      this.parts.errors.answer(target, thrown, entry.pattern);
      res.destroy();
      return target.status;
    }
    const list = this.parts.securityHeaders;
    for (let i = 0; i < list.length; i += 2) res.setHeader(list[i]!, list[i + 1]!);
    res.setHeader('X-Request-Id', requestId);
    const cors = this.parts.cors.answerHeaders(entry.cors, headerOf(req, 'origin'));
    for (let i = 0; i < cors.length; i += 2) res.setHeader(cors[i]!, cors[i + 1]!);
    this.parts.errors.answer(target, thrown, entry.pattern);
    const body = Buffer.from(typeof target.body === 'string' ? target.body : JSON.stringify(target.body ?? {}));
    res.statusCode = target.status;
    res.setHeader('Content-Type', target.type || JSON_TYPE);
    res.setHeader('Content-Length', body.length);
    res.end(body);
    return target.status;
  }
}
