/**
 * The broker's local answers (JWKS, discovery, /v1/auth/config, healthz), served for a
 * short while without entering Koa.
 *
 * A route that answers with prepared bytes (local-answer.ts) marks its answer as
 * memoizable; request-context.ts, which sees the answer last, records it here with every
 * header it went out with. For `MEMO_MS` after that, a GET for the same URL, with the same
 * values of the request headers the answer varies on (its own `Vary`), is answered from
 * here: the same bytes and headers, a fresh X-Request-Id, a 304 to a matching
 * If-None-Match, and the same access line and metrics as any request. Koa's middleware
 * were three quarters of the CPU of such an answer.
 *
 * What an answer is made of (keys, realm metadata, the tenant list) is cached further in,
 * with its own refresh; an answer recorded here is at most `MEMO_MS` older than what those
 * caches hold, which every such answer's own Cache-Control allows many times over. Then
 * one request goes through Koa again, which asks those caches and records the answer anew.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { asWritten, endInOneWrite } from './send-json.js';

export const MEMO_MS = 1000;
/** URLs kept (tenants × local routes, plus whatever paths callers try): bounded all the same. */
const MAX_URLS = 2000;
/** Variants of one URL (hosts, origins a caller sends): bounded all the same. */
const MAX_VARIANTS = 50;
/**
 * What the memo may hold, in characters of bodies and of the request values they vary on.
 * Counts alone were not a bound: a caller choosing 2,000 query strings × 50 long Origins made
 * it hold 0.6–2 GB, until the process ran out of heap (attack helper, 2026-12-06). Past this,
 * everything is forgotten: the next requests go through Koa and are recorded anew.
 */
export const MAX_MEMO_CHARS = 16 * 1024 * 1024;

export interface MemoAnswer {
  /**
   * The headers of the 200 and of its 304 (no Content-Length or Content-Type), as flat
   * [name, value, ...] lists made once: `writeHead` takes such a list for a fraction of what
   * it spends on an object made per request (about a fifth of the CPU of a local answer
   * with the security headers, measured on a bare node:http server).
   */
  head200: string[];
  head304: string[];
  /** The body's bytes as send-json.ts's `endInOneWrite` sends them (head and body in one write). */
  written: string;
  etag: string;
  /** For the access line and metrics, as Koa would have logged them. */
  route: string;
  tenant?: string;
  until: number;
}

interface ByUrl {
  /** The request headers the answer varies on (lower case), from its `Vary`. */
  vary: string[];
  variants: Map<string, MemoAnswer>;
}

/** `headers` as a flat [name, value, ...] list, without the ones named in `leaveOut`. */
function flatHeaders(headers: OutgoingHttpHeaders, leaveOut: string[]): string[] {
  const flat: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || leaveOut.includes(name)) continue;
    for (const one of Array.isArray(value) ? value : [value]) flat.push(name, String(one));
  }
  return flat;
}

/** The part of a request an answer may depend on: what its Vary names. */
function variantKey(vary: string[], req: IncomingMessage): string {
  let key = '';
  for (const name of vary) key += `${req.headers[name] ?? ''}\u0000`;
  return key;
}

export class AnswerMemo {
  private readonly byUrl = new Map<string, ByUrl>();
  /** Characters recorded since the memo was last emptied (replaced answers included). */
  private chars = 0;

  constructor(private readonly ttlMs = MEMO_MS) {}

  /** An answer to give `req` now, if one was recorded and is fresh. */
  find(req: IncomingMessage): MemoAnswer | undefined {
    if (req.method !== 'GET' || req.url === undefined) return undefined;
    const entry = this.byUrl.get(req.url);
    if (!entry) return undefined;
    const key = variantKey(entry.vary, req);
    const answer = entry.variants.get(key);
    if (!answer) return undefined;
    if (answer.until > performance.now()) return answer;
    entry.variants.delete(key);
    return undefined;
  }

  /** Records the answer Koa just gave `req` (a 200 of prepared bytes). */
  record(req: IncomingMessage, headers: OutgoingHttpHeaders, body: Buffer, etag: string, route: string, tenant?: string): void {
    // A query string is the caller's to vary, and no local answer reads one: such a URL goes
    // through Koa each time rather than filling the memo.
    if (req.method !== 'GET' || req.url === undefined || req.url.includes('?')) return;
    // A cookie is one browser's: never sent again to another (no route sets one with a
    // local answer today; this keeps it so if one ever does).
    if (headers['set-cookie'] !== undefined) return;
    const vary = String(headers.vary ?? '').toLowerCase().split(',').map((v) => v.trim()).filter(Boolean);
    if (vary.includes('*')) return;
    let entry = this.byUrl.get(req.url);
    if (!entry || entry.vary.join() !== vary.join()) {
      if (this.byUrl.size >= MAX_URLS) this.byUrl.clear();
      entry = { vary, variants: new Map() };
      this.byUrl.set(req.url, entry);
    }
    if (entry.variants.size >= MAX_VARIANTS) entry.variants.clear();
    const key = variantKey(vary, req);
    const written = asWritten(body);
    this.chars += written.length + key.length + req.url.length;
    if (this.chars > MAX_MEMO_CHARS) {
      this.clear();
      this.chars = written.length + key.length + req.url.length;
      entry = { vary, variants: new Map() };
      this.byUrl.set(req.url, entry);
    }
    entry.variants.set(key, {
      head200: flatHeaders(headers, ['x-request-id']),
      head304: flatHeaders(headers, ['x-request-id', 'content-length', 'content-type']),
      written, etag, route, tenant, until: performance.now() + this.ttlMs,
    });
  }

  /** Forgets everything (what the answers are made of changed here). */
  clear(): void {
    this.byUrl.clear();
    this.chars = 0;
  }
}

/** Whether `If-None-Match` names `etag` (weak or strong, or `*`): RFC 9110 §13.1.2. */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  for (const tag of ifNoneMatch.split(',')) {
    const t = tag.trim().replace(/^W\//, '');
    if (t === etag || t === '*') return true;
  }
  return false;
}

/** Sends a recorded answer (or its 304) with `requestId`; returns the status sent. */
export function sendMemo(res: ServerResponse, req: IncomingMessage, answer: MemoAnswer, requestId: string): number {
  const status = matchesEtag(req.headers['if-none-match'], answer.etag) ? 304 : 200;
  const headers = (status === 304 ? answer.head304 : answer.head200).slice();
  headers.push('x-request-id', requestId);
  res.writeHead(status, headers);
  if (status === 304) res.end();
  else endInOneWrite(res, answer.written);
  return status;
}
