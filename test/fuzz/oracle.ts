/**
 * What every answer must look like, per surface, as the README documents it:
 *
 * - connect: FastAPI's `{"detail": "…", "error": "…"}`, or `{"detail": [{loc, msg, type}]}` on 422;
 * - ScaiWave: `{"data": …}` on success, `{"error": {"code": "SW_AUTH_…", "message"}}` otherwise, the
 *   code one of the README's table with the status the table gives it;
 * - platform and tenant level: RFC 6749 `{"error", "error_description"}` (or the 422 `detail`
 *   list), and on the pages a person reads (authorize, login, callback, device pages, logout) an
 *   HTML page or a redirect.
 *
 * Everywhere: no 5xx but an upstream failure (502/503/504 with the surface's upstream code)
 * or a 501 for a method no router implements (PROPFIND),
 * JSON content type where JSON is promised, no stack trace and no internal address in an error.
 * `check` returns the broken rules (empty when the answer is fine).
 */
import { readFileSync } from 'node:fs';
import type { Surface } from './routes.js';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface Expectation {
  surface: Surface;
  /**
   * `page`: an HTML page or a redirect (a browser's request to a page route); `json`: the
   * surface's JSON; `either`: a page route called the way no browser form can (JSON body).
   */
  answers: 'json' | 'page' | 'either';
  method: string;
  /** Internal addresses that must never appear in an error (e.g. `127.0.0.1:8080`). */
  internal: string[];
}

/** The ScaiWave error codes the README documents, with their statuses. */
export function documentedScaiwaveCodes(readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')): Map<string, number> {
  const codes = new Map<string, number>();
  for (const line of readme.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 4 || !cells[1]!.includes('`SW_AUTH_')) continue;
    const names = [...cells[1]!.matchAll(/`(SW_AUTH_[A-Z_]+)`/g)].map((m) => m[1]!);
    const statuses = cells[2]!.split(',').map((s) => Number(s.trim()));
    names.forEach((n, i) => codes.set(n, statuses[i] ?? statuses[0]!));
  }
  return codes;
}

const SW_CODES = documentedScaiwaveCodes();
/** Methods the routers implement; any other is answered 501 (in the surface's shape). */
const IMPLEMENTED = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const UPSTREAM_STATUSES = new Set([502, 503, 504]);
const UPSTREAM_CODES: Record<'connect' | 'scaiwave' | 'oauth', Set<string>> = {
  connect: new Set(['upstream_unavailable', 'upstream_timeout', 'upstream_bad_response', 'store_unavailable']),
  scaiwave: new Set(['SW_AUTH_UPSTREAM_UNAVAILABLE', 'SW_AUTH_UPSTREAM_TIMEOUT', 'SW_AUTH_UPSTREAM_ERROR', 'SW_AUTH_STORE_UNAVAILABLE']),
  oauth: new Set(['temporarily_unavailable']),
};
/** Node and V8 stack frames, source paths, module paths. */
const STACK = /\n\s+at [^\n]+:\d+:\d+|\bat (?:async )?[\w.<>]+ \((?:file:\/\/|\/|node:)|node:internal|node_modules\/|\/src\/[\w/.-]+\.[jt]s\b|\b(?:TypeError|ReferenceError|SyntaxError|RangeError): /;
const ISSUE_KEYS = ['loc', 'msg', 'type'];

const header = (a: Answer, name: string): string => {
  const v = a.headers[name];
  return Array.isArray(v) ? v.join(', ') : (v ?? '');
};

function isValidationList(detail: unknown): boolean {
  return Array.isArray(detail) && detail.length > 0 && detail.every((d) =>
    d && typeof d === 'object' && Array.isArray(d.loc) && d.loc.every((p: unknown) => typeof p === 'string' || typeof p === 'number')
    && typeof d.msg === 'string' && typeof d.type === 'string' && Object.keys(d).every((k) => ISSUE_KEYS.includes(k) || k === 'input' || k === 'ctx'));
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const onlyKeys = (o: Record<string, unknown>, keys: string[]) => Object.keys(o).every((k) => keys.includes(k));

function connectBody(status: number, body: unknown, problems: string[]): void {
  if (status < 400) {
    if (!isObject(body)) problems.push('connect success is not a JSON object');
    return;
  }
  if (!isObject(body) || !('detail' in body)) return void problems.push('connect error without "detail"');
  if (status === 422) {
    if (!isValidationList(body.detail) || !onlyKeys(body, ['detail'])) problems.push('connect 422 is not {"detail":[{loc,msg,type}]}');
    return;
  }
  if (typeof body.detail !== 'string' || typeof body.error !== 'string' || !onlyKeys(body, ['detail', 'error'])) {
    problems.push('connect error is not {"detail": string, "error": string}');
  }
  if (status >= 500 && !(UPSTREAM_STATUSES.has(status) && UPSTREAM_CODES.connect.has(String(body.error)))) problems.push(`connect ${status} that is not an upstream failure`);
}

function scaiwaveBody(status: number, body: unknown, problems: string[], sent = status): void {
  if (status < 400) {
    if (!isObject(body) || !('data' in body) || !onlyKeys(body, ['data'])) problems.push('ScaiWave success is not {"data": …}');
    return;
  }
  const error = isObject(body) ? body.error : undefined;
  if (!isObject(body) || !isObject(error) || typeof error.code !== 'string' || typeof error.message !== 'string') {
    return void problems.push('ScaiWave error is not {"error":{"code","message"}}');
  }
  if (!onlyKeys(body, ['error', 'detail']) || !onlyKeys(error, ['code', 'message', 'details'])) problems.push('ScaiWave error has undocumented keys');
  const documented = SW_CODES.get(error.code);
  if (documented === undefined) problems.push(`ScaiWave code ${error.code} is not documented`);
  else if (documented !== sent) problems.push(`ScaiWave ${error.code} answered ${sent}, documented ${documented}`);
  if (status === 422 && !isValidationList(body.detail)) problems.push('ScaiWave 422 without the FastAPI "detail" list');
  if (status >= 500 && !(UPSTREAM_STATUSES.has(status) && UPSTREAM_CODES.scaiwave.has(error.code))) problems.push(`ScaiWave ${status} that is not an upstream failure`);
}

function oauthBody(status: number, body: unknown, problems: string[]): void {
  if (status < 400) {
    if (!isObject(body)) problems.push('OAuth success is not a JSON object');
    return;
  }
  if (status === 422 && isObject(body) && 'detail' in body) {
    if (!isValidationList(body.detail) || !onlyKeys(body, ['detail'])) problems.push('OAuth 422 is not {"detail":[{loc,msg,type}]}');
    return;
  }
  if (!isObject(body) || typeof body.error !== 'string' || !/^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/.test(body.error)) {
    return void problems.push('OAuth error is not {"error": code, "error_description"}');
  }
  if (!onlyKeys(body, ['error', 'error_description', 'error_uri']) || ('error_description' in body && typeof body.error_description !== 'string')) {
    problems.push('OAuth error has keys beyond error, error_description, error_uri');
  }
  if (status >= 500 && !(UPSTREAM_STATUSES.has(status) && UPSTREAM_CODES.oauth.has(body.error))) problems.push(`OAuth ${status} that is not an upstream failure`);
}

/** The rules an answer breaks (none: fine). */
export function check(exp: Expectation, a: Answer): string[] {
  const problems: string[] = [];
  const type = header(a, 'content-type');
  const hasBody = exp.method !== 'HEAD' && a.text.length > 0;
  if (a.status < 100 || a.status > 599) problems.push(`status ${a.status}`);
  const unimplemented = a.status === 501 && !IMPLEMENTED.has(exp.method);
  if (a.status === 500 || (a.status === 501 && !unimplemented) || a.status > 504) problems.push(`${a.status} answer`);
  if (a.status >= 400 && hasBody) {
    if (STACK.test(a.text)) problems.push('stack trace or source path in an error');
    for (const addr of exp.internal) if (a.text.includes(addr)) problems.push(`internal address ${addr} in an error`);
  }
  if ((a.status === 429 || a.status === 503 || a.status === 504) && !header(a, 'retry-after')) problems.push(`${a.status} without Retry-After`);
  if (a.status === 405 && !header(a, 'allow')) problems.push('405 without Allow');
  // security-headers.ts: headers every response carries; the request id echoed only when sane.
  if (header(a, 'x-content-type-options') !== 'nosniff') problems.push('answer without X-Content-Type-Options: nosniff');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(header(a, 'x-request-id'))) problems.push('answer without a sane X-Request-Id');
  if (exp.method === 'OPTIONS' && a.status < 300) return problems; // Allow header, no body

  const page = exp.answers === 'page' || (exp.answers === 'either' && (/^text\/html\b/i.test(type) || (a.status >= 300 && a.status < 400)));
  if (page) {
    if (a.status >= 300 && a.status < 400) {
      if (!header(a, 'location')) problems.push('redirect without Location');
    } else if (!/^text\/html\b/i.test(type)) {
      problems.push(`page answered ${a.status} as ${type || 'no content type'}, not HTML`);
    } else if (hasBody && !/<!doctype html>|<html[\s>]/i.test(a.text)) {
      problems.push('page body is not an HTML document');
    }
    return problems;
  }
  if (a.status >= 300 && a.status < 400) return [...problems, `JSON route redirected (${a.status})`];
  if (exp.method === 'HEAD') {
    if (!/^application\/json\b/i.test(type)) problems.push(`HEAD answered ${a.status} as ${type || 'no content type'}, not JSON`);
    return problems;
  }
  if (!/^application\/json\b/i.test(type)) return [...problems, `answered ${a.status} as ${type || 'no content type'}, not JSON`];
  let body: unknown;
  try {
    body = JSON.parse(a.text);
  } catch {
    return [...problems, 'JSON content type with a body that is not JSON'];
  }
  // The body rules below judge 5xx as upstream failures; a 501 for an unknown method is judged by shape only.
  const status = unimplemented ? 400 : a.status;
  if (exp.surface === 'connect') connectBody(status, body, problems);
  else if (exp.surface === 'scaiwave') scaiwaveBody(status, body, problems, a.status);
  else oauthBody(status, body, problems);
  if (a.status === 401) {
    const bearer = exp.surface === 'scaiwave' ? (body as any)?.error?.code === 'SW_AUTH_INVALID_TOKEN' : (body as any)?.error === 'invalid_token';
    if (bearer && !/^Bearer\b/i.test(header(a, 'www-authenticate'))) problems.push('invalid_token without WWW-Authenticate: Bearer');
  }
  return problems;
}
