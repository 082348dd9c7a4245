/**
 * The routes to fuzz, read from the running app's own route tables (every @koa/router in
 * the middleware stack), so a route added later is fuzzed without touching this suite.
 * Each route is tagged with its surface (by path prefix), whether a person's browser reads
 * it (the route tables mark those with `asPage` / `asPageForForms`), and the zod schema
 * its `guard()` validates, found by name among the surface's exported schemas.
 */
import type Koa from 'koa';
import { z } from 'zod';
import * as connectSchemas from '../../src/surfaces/connect/schemas.js';
import * as platformSchemas from '../../src/surfaces/platform/schemas.js';
import * as scaiwaveSchemas from '../../src/surfaces/scaiwave/schemas.js';
import { PREFIX as CONNECT } from '../../src/surfaces/connect/routes.js';
import { PREFIX as PLATFORM } from '../../src/surfaces/platform/routes.js';
import { PREFIX as SCAIWAVE } from '../../src/surfaces/scaiwave/routes.js';
import { PREFIX as TENANT } from '../../src/surfaces/tenant/routes.js';

export type Surface = 'connect' | 'scaiwave' | 'platform' | 'tenant';
export const SURFACES: Surface[] = ['connect', 'scaiwave', 'platform', 'tenant'];
export const PREFIXES: Record<Surface, string> = { connect: CONNECT, scaiwave: SCAIWAVE, platform: PLATFORM, tenant: TENANT };

/** How a route answers: JSON always, HTML pages (a browser reads it), or pages for form posts only. */
export type Kind = 'json' | 'page' | 'form-page';

export type Shape = Record<string, z.ZodType>;

interface Layer {
  path: string;
  name?: string;
  methods: string[];
  stack: ((...args: unknown[]) => unknown)[];
  match(path: string): boolean;
}

export interface Route {
  surface: Surface;
  name: string;
  /** The path template, e.g. `/api/v1/auth/tenants/:slug/oauth/token`. */
  path: string;
  /** Methods the route serves (HEAD left out: it follows GET). */
  methods: string[];
  kind: Kind;
  /** The fields its guard validates, or every field of its surface's schemas when no guard is known. */
  shape: Shape;
  /** True when `shape` is the route's own schema. */
  ownSchema: boolean;
  /** Field names the route's handlers mention in their source (what they read outside a guard). */
  mentioned: string[];
  layer: Layer;
}

const SCHEMA_MODULES: Record<Surface, Record<string, unknown>> = {
  connect: connectSchemas, scaiwave: scaiwaveSchemas, platform: platformSchemas, tenant: platformSchemas,
};

/** The exported `{field: zodType}` objects of a schemas module, by export name. */
function shapesOf(mod: Record<string, unknown>): Record<string, Shape> {
  const out: Record<string, Shape> = {};
  for (const [name, value] of Object.entries(mod)) {
    if (value && typeof value === 'object' && Object.values(value).length > 0 && Object.values(value).every((v) => v instanceof z.ZodType)) {
      out[name] = value as Shape;
    }
  }
  return out;
}

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** `user-login` → userLoginInput; `device-verify-info` → deviceVerifyInput (the longest name it starts with). */
function schemaFor(surface: Surface, routeName: string): { shape: Shape; own: boolean } {
  const shapes = shapesOf(SCHEMA_MODULES[surface]);
  const wanted = camel(routeName);
  const candidates = Object.keys(shapes)
    .filter((n) => n.endsWith('Input') && wanted.startsWith(n.slice(0, -'Input'.length)))
    .sort((a, b) => b.length - a.length);
  if (candidates[0]) return { shape: shapes[candidates[0]]!, own: true };
  return { shape: Object.assign({}, ...Object.values(shapes)) as Shape, own: false };
}

export function surfaceOfPath(path: string): Surface | undefined {
  const lower = path.toLowerCase();
  // The longest prefix first: none of them is a prefix of another today, but keep it exact.
  return [...SURFACES].sort((a, b) => PREFIXES[b].length - PREFIXES[a].length).find((s) => lower.startsWith(PREFIXES[s]));
}

/** Identifiers and string literals in the source of the route's middleware. */
function mentionedNames(layer: Layer): string[] {
  const names = new Set<string>();
  for (const fn of layer.stack) {
    for (const m of fn.toString().matchAll(/\.([A-Za-z_]\w*)|["'`]([A-Za-z_]\w*)["'`]/g)) names.add(m[1] ?? m[2]!);
  }
  return [...names];
}

function kindOf(layer: Layer): Kind {
  const names = layer.stack.map((f) => f.name);
  if (names.includes('asPageForForms')) return 'form-page';
  return names.includes('asPage') ? 'page' : 'json';
}

/** Every route with a method, of every router mounted on the app. */
export function routesOf(app: Koa): Route[] {
  const routes: Route[] = [];
  for (const mw of app.middleware as (Koa.Middleware & { routers?: { stack: Layer[] }[] })[]) {
    for (const layer of (mw.routers ?? []).flatMap((r) => r.stack)) {
      if (layer.methods.length === 0) continue; // a nested router's mount point
      const surface = surfaceOfPath(layer.path);
      // Only GET /openapi.json lives outside the four surfaces (a static document).
      if (!surface && layer.path === '/openapi.json') continue;
      if (!surface) throw new Error(`route ${layer.path} belongs to no known surface`);
      const name = layer.name ?? layer.path;
      const { shape, own } = schemaFor(surface, name);
      routes.push({
        surface, name, path: layer.path, methods: layer.methods.filter((m) => m !== 'HEAD'),
        kind: kindOf(layer), shape, ownSchema: own, mentioned: mentionedNames(layer), layer,
      });
    }
  }
  return routes;
}

/** The route a request reaches, as the routers would pick it (paths match case-insensitively). */
export function routeFor(routes: Route[], method: string, pathname: string): Route | undefined {
  const m = method === 'HEAD' ? 'GET' : method;
  return routes.find((r) => r.methods.includes(m) && r.layer.match(pathname));
}
