/**
 * Every call to one Keycloak server goes through here (openid-client's customFetch,
 * realm discovery, jose's key sets, the raw calls, the admin client): it honours the
 * request's deadline and feeds the server's circuit breaker, refusing at once while the
 * breaker is open.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, DecoratorHandler, type Dispatcher } from 'undici';
import { currentScope } from '../request-scope.js';
import { BrokerError } from '../errors.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { currentDeadline, deadlinePassed, type Deadline } from './deadline.js';
import type { RealmSlots, Slot } from './realm-slots.js';

export type UpstreamFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Why a call failed, in a few words, for the "upstream down" log line. */
export function transportReason(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'no answer in time';
  if (e?.cause?.code) return `${e.message ?? 'fetch failed'} (${e.cause.code})`;
  return e?.cause?.message ?? e?.message ?? String(err);
}

/** No answer in time: the deadline's own reason, or the per-call timer's. */
function isTimeout(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

/**
 * The broker's own process out of descriptors: says nothing about Keycloak. Counted against it,
 * a flood of client connections to the limit made the breakers find both servers down
 * (attack helper, 2026-12-06), and every tenant got 503s for 21 s after the flood.
 */
function outOfDescriptors(err: unknown): boolean {
  return hasCode(err, 'EMFILE', 'ENFILE');
}

/** Whether `err` or one of its causes (fetch wraps undici's and the system's errors) has one of `codes`. */
function hasCode(err: unknown, ...codes: string[]): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (codes.includes(e.code as string)) return true;
  }
  return false;
}

/** Keycloak's own ways of saying it is not serving (a proxy in front of it, or starting up). */
const UNAVAILABLE = new Set([502, 503, 504]);

/**
 * Runs one call to the upstream under the request's deadline (`fn` gets it) and
 * tells the breaker how it went: an HTTP answer (a Response, or an error carrying one as
 * `response`) is the server up; no answer is a failure.
 */
export async function guardedCall<T>(breaker: CircuitBreaker, timeoutMs: number, fn: (deadline: Deadline) => Promise<T>, opts: {
  /**
   * Whether no answer in time counts against the server. Not for a call whose time is its
   * realm's to spend (a user search through the user federation a realm's admin set up): one
   * realm's slow search must not take the server down for every realm (attack of 2026-12-06).
   */
  timeoutsCount?: boolean;
} = {}): Promise<T> {
  const deadline = currentDeadline(timeoutMs);
  if (deadline.passed()) throw deadlinePassed();
  breaker.admit();
  const started = performance.now();
  let result: T;
  try {
    result = await fn(deadline);
  } catch (err) {
    const status = (err as { response?: { status?: unknown } })?.response?.status;
    // Already ours: the breaker's own refusal, or a call inside `fn` that was counted itself.
    if (err instanceof BrokerError) throw err;
    if (typeof status === 'number') {
      if (UNAVAILABLE.has(status)) breaker.failed(`HTTP ${status}`);
      else breaker.succeeded();
    } else if (isTooLarge(err)) {
      breaker.succeeded(); // an answer, only too long: the server is up, the answer unusable
    } else if (outOfDescriptors(err)) {
      // Ours, not the server's (above): the call fails, the breaker is not told.
    } else if (!isTimeout(err)) {
      breaker.failed(transportReason(err)); // refused, reset: the server
    } else if (opts.timeoutsCount !== false && performance.now() - started >= Math.min(500, timeoutMs / 2)) {
      // A timeout says something about Keycloak only when this call had time to get an answer
      // (a request whose deadline was mostly spent elsewhere says nothing), and then the server
      // or only the call's realm may be slow: the breaker asks the server (circuit-breaker.ts).
      breaker.timedOut(transportReason(err));
    }
    throw err;
  }
  // A Response, or the keep-alive client's answer: any answer with a status.
  const status = (result as { status?: unknown })?.status;
  if (typeof status === 'number' && UNAVAILABLE.has(status)) breaker.failed(`HTTP ${status}`);
  else breaker.succeeded();
  return result;
}

/**
 * `guardedCall` for a call of `realm` that takes one of its slots first (realm-slots.ts),
 * waiting for one up to `waitMs`. Once called, `fn` owns the slot (it releases it when Keycloak
 * answers); a call refused before `fn` ran (the breaker, a deadline passed) gives it back here.
 */
export function slottedCall<T>(slots: RealmSlots, realm: string, waitMs: number, breaker: CircuitBreaker, timeoutMs: number,
  fn: (deadline: Deadline, slot: Slot) => Promise<T>, opts: { timeoutsCount?: boolean } = {}): Promise<T> {
  const call = async (slot: Slot) => {
    let sent = false;
    try {
      return await guardedCall(breaker, timeoutMs, (deadline) => {
        sent = true;
        return fn(deadline, slot);
      }, opts);
    } catch (err) {
      if (!sent) slot.release();
      throw err;
    }
  };
  // The caller's address has its own share of the realm's (realm-slots.ts).
  const slot = slots.take(realm, waitMs, currentScope()?.address?.());
  return slot instanceof Promise ? slot.then(call) : call(slot);
}

/**
 * What every fetch to Keycloak sets. Keycloak's APIs do not redirect, and a redirect followed
 * would take the call (and its Authorization header, by a 302) wherever the answer pointed, with
 * a failure there counted against the server (attack helper round 30b): it is a bad answer.
 */
export const FETCH_OPTIONS = { redirect: 'manual' } as const;

/**
 * The most bytes an answer from Keycloak may have on the fetch paths (discovery, key sets, user
 * searches, the admin API; the hot grants have their own 1 MB, keepalive-client.ts). Without it,
 * a 2 GB discovery answer was buffered (about 450 MB in the 5 s before the 504; attack helper
 * round 30b). Room for the largest answer the broker asks for: the full realm list, some 10 KB a
 * realm.
 */
export const BODY_LIMIT_BYTES = 64 * 1024 * 1024;

/** undici's DecoratorHandler, whose declared type leaves out the methods it passes on. */
interface Decorated extends Dispatcher.DispatchHandler {
  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void;
}
type DecoratorClass = new (handler: Dispatcher.DispatchHandler) => Decorated;

/**
 * Keycloak's answers as they were sent: no compression asked for, and none undone when an answer
 * says it is compressed all the same (it then fails as the JSON it is not). The size limit counts
 * the bytes that arrive, and fetch unpacks whatever it is told is gzip with no limit of its own:
 * 48 KB of gzip made 50 MB of JSON through a 1 MB limit (review of this change, round 31).
 */
class AsSent extends (DecoratorHandler as unknown as DecoratorClass) {
  override onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    delete headers['content-encoding'];
    super.onResponseStart(controller, statusCode, headers, statusMessage);
  }
}

/** `headers` (as fetch hands them to its dispatcher: an object, or a flat list) asking for no compression. */
function identityEncoding(headers: Dispatcher.DispatchOptions['headers']): Dispatcher.DispatchOptions['headers'] {
  if (Array.isArray(headers)) return [...headers, 'accept-encoding', 'identity'];
  return { ...(headers as Record<string, string> | null | undefined), 'accept-encoding': 'identity' };
}

/** A keep-alive pool for fetch calls to one server, answers as sent (AsSent) and capped at BODY_LIMIT_BYTES. */
export function cappedAgent(options: Agent.Options = {}): Dispatcher {
  return new Agent({ ...options, maxResponseSize: BODY_LIMIT_BYTES })
    .compose((dispatch) => (opts, handler) => dispatch({ ...opts, headers: identityEncoding(opts.headers) }, new AsSent(handler)));
}

/** undici's refusal of an answer over BODY_LIMIT_BYTES, however deep the fetch wrapped it. */
export function isTooLarge(err: unknown): boolean {
  return hasCode(err, 'UND_ERR_RES_EXCEEDED_MAX_SIZE');
}

/** The fetch of one server, through `agent` (cappedAgent). */
export function guardedFetch(breaker: CircuitBreaker, timeoutMs: number, agent: Dispatcher): UpstreamFetch {
  // The caller's own signal (a per-call timeout) gives way to the request's deadline. A redirect
  // is an answer, not followed (FETCH_OPTIONS). Node's fetch takes undici's agent (the same
  // dispatcher interface; the admin client's fetch is Node's too).
  return (input, init = {}) => guardedCall(breaker, timeoutMs, (deadline) => fetch(input, { ...init, ...FETCH_OPTIONS, signal: deadline.signal(), dispatcher: agent } as RequestInit));
}
