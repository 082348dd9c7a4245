/**
 * Fuzz requests for one route, in four families:
 *
 * - `schema`: the route's own method and path, fields from its zod schema and plausible
 *   values, as query, form or JSON;
 * - `types`: the same with values of every JSON type where strings are expected (objects
 *   with a `toString` that is not a function, arrays, numbers, nulls) and repeated keys;
 * - `bodies`: the route's own method and path, with every kind of body (wrong and missing
 *   content types, malformed JSON, non-object JSON, non-string values, duplicate keys,
 *   bodies near and over 64 KiB, a lying Content-Length, chunked) and hostile headers;
 * - `methods`: any method (OPTIONS, HEAD, TRACE, PROPFIND too) on the path written oddly
 *   (case, trailing and double slashes, suffixes, encoded letters).
 *
 * A request is plain data, so fast-check prints (and shrinks) it readably.
 */
import fc from 'fast-check';
import type { Route } from './routes.js';
import { hostileObject, isOptional, oddJson, oddString, PAGE_FIELDS, PLAUSIBLE, PROTO_NAMES, valueFor } from './values.js';

export type BodySpec =
  | { kind: 'none' }
  | { kind: 'form'; contentType?: string; fields: [string, unknown][]; junk?: string }
  | { kind: 'json'; contentType?: string; fields: [string, unknown][] }
  | { kind: 'raw'; contentType?: string; text: string }
  | { kind: 'huge'; contentType: string; size: number; chunked: boolean }
  | { kind: 'lying'; contentType: string; declared: number; text: string };

export interface FuzzRequest {
  /** `surface route-name`, for the reader of a counterexample. */
  route: string;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: BodySpec;
}

export type Family = 'schema' | 'types' | 'bodies' | 'methods';

export const LIMIT = 64 * 1024;
const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

/** Percent-encoding of any string, lone surrogates included (as U+FFFD, like a browser). */
export function pct(s: string): string {
  return [...Buffer.from(s, 'utf8')].map((b) => (/[A-Za-z0-9._~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

const str = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v) ?? '');

/** JSON text of an object, duplicate keys kept. */
const jsonObject = (fields: [string, unknown][]) => `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`;
const formText = (fields: [string, unknown][]) => fields.map(([k, v]) => `${pct(k)}=${pct(str(v))}`).join('&');

/** The bytes of a body, its content type, and how its length is sent. */
export function bodyBytes(body: BodySpec): { data: Buffer; contentType?: string; declaredLength?: number; chunked?: boolean } {
  switch (body.kind) {
    case 'none': return { data: Buffer.alloc(0) };
    case 'form': return { data: Buffer.from(formText(body.fields) + (body.junk ?? '')), contentType: body.contentType };
    case 'json': return { data: Buffer.from(jsonObject(body.fields)), contentType: body.contentType };
    case 'raw': return { data: Buffer.from(body.text), contentType: body.contentType };
    case 'huge': {
      const json = /json/.test(body.contentType);
      const head = json ? '{"username":"' : 'username=';
      const tail = json ? '"}' : '';
      const fill = Math.max(0, body.size - head.length - tail.length);
      return { data: Buffer.from(head + 'a'.repeat(fill) + tail), contentType: body.contentType, chunked: body.chunked };
    }
    case 'lying': return { data: Buffer.from(body.text), contentType: body.contentType, declaredLength: body.declared };
  }
}

const headerText = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
  fc.string({ unit: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 10 }),
  fc.integer({ min: 500, max: 1200 }).map((n) => 'h'.repeat(n)),
);
const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');

/** Headers a hostile or confused client sends. */
const hostileHeaders: fc.Arbitrary<Record<string, string>> = fc.record({
  host: fc.oneof(fc.constantFrom('acme.localhost', 'globex.localhost:3000', 'GLOBEX.LOCALHOST', 'unknown.example', '', '[::1]:80', '[::1', 'a:b:c', ...PROTO_NAMES), headerText),
  'x-tenant': fc.oneof(fc.constantFrom('acme', 'globex', 'GLOBEX', 'nobody', '', ...PROTO_NAMES), headerText),
  'x-forwarded-for': fc.oneof(fc.constantFrom('1.2.3.4', '1.2.3.4, 5.6.7.8', 'garbage', '::1', ''), headerText),
  'x-forwarded-host': fc.oneof(fc.constantFrom('evil.example', 'globex.localhost'), headerText),
  'x-forwarded-proto': fc.constantFrom('https', 'http', 'gopher', ''),
  authorization: fc.oneof(
    fc.constantFrom('Bearer {{access_token}}', 'Bearer {{user_access_token}}', 'Bearer {{refresh_token}}', 'Bearer', 'Bearer ', 'Basic', 'Basic !!!', 'Negotiate abc', 'bearer a b', `Basic ${b64('platform-service:wrong')}`, `Basic ${b64('%zz:%')}`,
      `Basic ${b64('no-colon')}`, `Basic ${b64('platform-demo:')}`, `Basic ${b64(':')}`, `Basic ${b64('tv-demo:%E0%A4%A')}`),
    headerText.map((t) => `Bearer ${t}`), headerText.map((t) => `Basic ${b64(t)}`), headerText),
  cookie: fc.oneof(fc.constantFrom('rb_sso=x', 'rb_bind=x; rb_fcsrf=x', 'rb_bind={{bind}}; rb_fcsrf=x', 'rb_bind={{bind}}; rb_fcsrf={{csrf}}', 'rb_sso=%E0%A4%A', '=', ';;;', 'rb_sso=', '__Host-rb_sso=x'), headerText),
  'x-request-id': headerText,
  accept: fc.constantFrom('text/html', 'application/json', '*/*', 'image/png', ''),
  'content-encoding': fc.constantFrom('gzip', 'identity', 'br'),
}, { requiredKeys: [] }).map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>);

/** The tenant slug in tenant-level paths. */
const slug = fc.oneof({ arbitrary: fc.constantFrom('acme', 'globex'), weight: 4 },
  fc.constantFrom('ACME', 'nobody', '%2e%2e', 'ac%6De', 'a'.repeat(300), '%F0%9F%98%80', '%00', ...PROTO_NAMES));

function concretePath(route: Route, slugValue: string): string {
  return route.path.replace(/:slug\b/, slugValue);
}

/**
 * Field names a request to this route may carry: its schema's, then the known parameter
 * names its handlers mention (what they read outside a guard); every known name for a
 * route that mentions none.
 */
export function fieldsOf(route: Route): string[] {
  const vocabulary = new Set([...PAGE_FIELDS, ...Object.keys(PLAUSIBLE)]);
  const read = route.mentioned.filter((n) => vocabulary.has(n));
  // Every form of the pages carries its CSRF token (checked by helpers the handler calls).
  const forms = route.kind === 'json' ? [] : ['csrf'];
  return [...new Set([...Object.keys(route.shape), ...(read.length || route.ownSchema ? read : PAGE_FIELDS), ...forms])];
}

/** A set of (field, value) pairs: required fields mostly present, others sometimes, some twice. */
function fieldsFor(route: Route, odd: number): fc.Arbitrary<{ name: string; value: unknown; where: 'query' | 'body' | 'both' }[]> {
  const names = fieldsOf(route);
  const one = (name: string) => fc.record({
    name: fc.constant(name),
    value: valueFor(name, route.shape[name], odd),
    where: fc.constantFrom<'query' | 'body' | 'both'>('body', 'body', 'query', 'both'),
  });
  const present = names.map((n) => {
    const required = route.shape[n] && !isOptional(route.shape[n]!);
    return fc.option(fc.array(one(n), { minLength: 1, maxLength: 2 }), { nil: undefined, freq: required ? 8 : 2 });
  });
  const extra = fc.array(fc.record({
    name: fc.oneof(fc.constantFrom(...PROTO_NAMES, 'a[]', 'a[b]', ''), oddString),
    value: odd > 0 ? fc.oneof(oddString, oddJson) : oddString,
    where: fc.constantFrom<'query' | 'body' | 'both'>('body', 'query'),
  }), { maxLength: odd > 0 ? 3 : 1 });
  return fc.tuple(fc.tuple(...present), extra).map(([lists, more]) => [...lists.flatMap((l) => l ?? []).flatMap((l) => l), ...more]);
}

type Placed = { name: string; value: unknown; where: 'query' | 'body' | 'both' }[];
/** The query part of the fields; an array value is the key repeated. */
const queryOf = (fields: Placed, junk = '') =>
  fields.filter((f) => f.where !== 'body')
    .flatMap((f) => (Array.isArray(f.value) ? f.value : [f.value]).map((v) => `${pct(f.name)}=${pct(str(v))}`)).join('&') + junk;
const bodyFields = (fields: Placed): [string, unknown][] => fields.filter((f) => f.where !== 'query').map((f) => [f.name, f.value]);

/** Node refuses request heads over 16 KiB (431, before the app): queries stay under 6 KiB. */
const clip = (query: string) => (query.length <= 6000 ? query : query.slice(0, query.lastIndexOf('&', 6000) + 1 || 6000).replace(/&$/, ''));

const queryJunk = fc.constantFrom('', '', '', '&', '&&=&', '&%zz=%zz', '&a[]=1&a[]=2', '&%C0%80=%FF', '&==', '&x=' + 'y'.repeat(2000));

/** The `schema` family: right method and path, schema-driven fields. */
export function schemaRequest(route: Route): fc.Arbitrary<FuzzRequest> {
  return fc.record({
    method: fc.constantFrom(...route.methods),
    slug,
    fields: fieldsFor(route, 0),
    asJson: fc.boolean(),
    tenantHeader: fc.option(fc.constantFrom('acme', 'globex'), { nil: undefined }),
    cookie: fc.option(fc.constantFrom('rb_bind={{bind}}; rb_fcsrf={{csrf}}', 'rb_fcsrf=x'), { nil: undefined }),
  }).map(({ method, slug: s, fields, asJson, tenantHeader, cookie }): FuzzRequest => {
    const inBody = method === 'POST' ? bodyFields(fields) : [];
    const body: BodySpec = inBody.length === 0 ? { kind: 'none' }
      : asJson ? { kind: 'json', contentType: JSON_TYPE, fields: inBody } : { kind: 'form', contentType: FORM, fields: inBody };
    const query = clip(queryOf(method === 'POST' ? fields : fields.map((f) => ({ ...f, where: 'query' as const }))));
    return { route: `${route.surface} ${route.name}`, method, path: concretePath(route, s), query, headers: { ...(tenantHeader ? { 'x-tenant': tenantHeader } : {}), ...(cookie ? { cookie } : {}) }, body };
  });
}

/**
 * The `types` family: right method and path, plausible string fields, and one of them (or
 * a repeated key) of another JSON type — an object whose `toString` is not a function, an
 * array, a number, null — in a JSON body, or repeated in the query.
 */
export function typesRequest(route: Route): fc.Arbitrary<FuzzRequest> {
  return fc.record({
    method: fc.constantFrom(...route.methods),
    slug,
    fields: fieldsFor(route, 0),
    odd: fc.record({ pick: fc.nat(), value: fc.oneof(hostileObject, oddJson), name: fc.option(fc.constantFrom(...fieldsOf(route)), { nil: undefined }) }),
    cookie: fc.option(fc.constantFrom('rb_bind={{bind}}; rb_fcsrf=x', 'rb_fcsrf=x; rb_sso=x'), { nil: undefined }),
  }).map(({ method, slug: s, fields, odd, cookie }): FuzzRequest => {
    const all: Placed = fields.map((f) => ({ ...f, where: method === 'POST' ? 'body' : 'query' }));
    // The odd value replaces a field, or is added under a name of the route.
    if (all.length && odd.name === undefined) all[odd.pick % all.length]!.value = odd.value;
    else all.push({ name: odd.name ?? 'x', value: odd.value, where: method === 'POST' ? 'body' : 'query' });
    const inBody = bodyFields(all);
    return {
      route: `${route.surface} ${route.name}`, method, path: concretePath(route, s), query: clip(queryOf(all)), headers: cookie ? { cookie } : {},
      body: inBody.length ? { kind: 'json', contentType: JSON_TYPE, fields: inBody } : { kind: 'none' },
    };
  });
}

const formTypes = fc.constantFrom(FORM, `${FORM}; charset=UTF-8`, `${FORM.toUpperCase()}`, `${FORM}; charset=latin1`);
const jsonTypes = fc.constantFrom(JSON_TYPE, `${JSON_TYPE}; charset=utf-8`, 'application/vnd.api+json', 'APPLICATION/JSON', `${JSON_TYPE}; charset=utf-16`);
const wrongTypes = fc.constantFrom('text/plain', 'multipart/form-data; boundary=x', 'application/xml', 'text/html', 'application/octet-stream', ';;',
  'application/json, text/plain', 'application/', '*/*', 'application/x-www-form-urlencoded-extra');
const malformedJson = fc.oneof(
  fc.constantFrom('{', '{"a":', '{"a":1,}', "{'a':1}", 'NaN', '\uFEFF{}', '{"a":"\\ud800"}', '{"a":1}{"b":2}', '{"a":1} x', '{"a":01}', '[', '"', 'nul', '{"\u0000":1}', '{"a":"\u0001"}'),
  fc.json().map((j) => j.slice(0, Math.max(1, Math.floor(j.length / 2)))).filter((t) => { try { JSON.parse(t); return false; } catch { return true; } }),
);
const hugeSizes = fc.constantFrom(LIMIT - 1, LIMIT, LIMIT + 1, LIMIT + 1000, 300_000);

function bodyFor(route: Route): fc.Arbitrary<BodySpec> {
  const fields = fieldsFor(route, 0.25).map(bodyFields);
  return fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('form' as const), contentType: fc.option(formTypes, { nil: undefined }), fields, junk: fc.option(fc.constantFrom('&%zz', '&&', '&=x', '&a=1=2', '&a+b=c+d', '&%00=%00'), { nil: undefined }) }), weight: 3 },
    { arbitrary: fc.record({ kind: fc.constant('json' as const), contentType: fc.option(jsonTypes, { nil: undefined }), fields }), weight: 3 },
    fc.record({ kind: fc.constant('raw' as const), contentType: jsonTypes, text: fc.oneof(malformedJson, oddJson.filter((v) => v !== undefined).map((v) => JSON.stringify(v) ?? 'null')) }),
    fc.record({ kind: fc.constant('raw' as const), contentType: fc.option(wrongTypes, { nil: undefined }), text: fields.map(formText) }),
    fc.record({ kind: fc.constant('raw' as const), contentType: fc.option(fc.oneof(formTypes, jsonTypes), { nil: undefined }), text: fc.constantFrom('', ' ', '\r\n') }),
    fc.record({ kind: fc.constant('huge' as const), contentType: fc.oneof(formTypes, jsonTypes), size: hugeSizes, chunked: fc.boolean() }),
    fc.record({ kind: fc.constant('lying' as const), contentType: formTypes, declared: fc.constantFrom(LIMIT + 1, 10_000_000), text: fc.constant('username=x') }),
    fc.constant({ kind: 'none' as const }),
  );
}

/** The `bodies` family: right method and path, any body, hostile headers, odd query strings. */
export function bodiesRequest(route: Route): fc.Arbitrary<FuzzRequest> {
  return fc.record({
    method: fc.constantFrom(...route.methods),
    slug,
    query: fc.tuple(fieldsFor(route, 0.25), queryJunk).map(([f, junk]) => queryOf(f.map((x) => ({ ...x, where: 'query' as const })), junk)),
    withQuery: fc.boolean(),
    headers: hostileHeaders,
    body: bodyFor(route),
  }).map(({ method, slug: s, query, withQuery, headers, body }) => ({
    route: `${route.surface} ${route.name}`, method, path: concretePath(route, s), query: withQuery ? clip(query.replace(/^&/, '')) : '', headers, body,
  }));
}

function oddCase(path: string, mask: number[]): string {
  return [...path].map((c, i) => ((mask[i % mask.length] ?? 0) % 2 ? c.toUpperCase() : c.toLowerCase())).join('');
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'PURGE'];

/** The `methods` family: any method on the route's path written oddly. */
export function methodsRequest(route: Route): fc.Arbitrary<FuzzRequest> {
  return fc.record({
    method: fc.oneof(fc.constantFrom(...route.methods), fc.constantFrom(...METHODS)),
    slug,
    variant: fc.constantFrom('as-is', 'upper', 'odd-case', 'trailing-slash', 'double-slash', 'suffix', 'encoded', 'dot-segment', 'matrix'),
    mask: fc.array(fc.nat(1), { minLength: 1, maxLength: 7 }),
    body: fc.oneof(fc.constant<BodySpec>({ kind: 'none' }), fieldsFor(route, 0).map((f): BodySpec => ({ kind: 'form', contentType: FORM, fields: bodyFields(f) }))),
  }).map(({ method, slug: s, variant, mask, body }) => {
    const p = concretePath(route, s);
    const last = p.lastIndexOf('/');
    const path = {
      'as-is': p,
      upper: p.toUpperCase(),
      'odd-case': oddCase(p, mask),
      'trailing-slash': `${p}/`,
      'double-slash': `${p.slice(0, last)}//${p.slice(last + 1)}`,
      suffix: `${p}/x.json`,
      encoded: p.replace(/([a-z])(?=[^/]*$)/, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
      'dot-segment': `${p.slice(0, last)}/./${p.slice(last + 1)}`,
      matrix: `${p};jsessionid=1`,
    }[variant];
    return { route: `${route.surface} ${route.name}`, method, path, query: '', headers: {}, body: method === 'GET' || method === 'HEAD' ? { kind: 'none' } : body };
  });
}

export const FAMILIES: Record<Family, (route: Route) => fc.Arbitrary<FuzzRequest>> = {
  schema: schemaRequest, types: typesRequest, bodies: bodiesRequest, methods: methodsRequest,
};
