/** The connect API's actions: each the last step of its route's pipeline. */
import * as jose from 'jose';
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import { prepare, sendPrepared } from '../../http/local-answer.js';
import { sendJson } from '../../http/send-json.js';
import { inputOf } from '../../http/state.js';
import { clientCredentialsGrant } from '../shared/client-credentials.js';
import { cachesIntrospection, introspectAt, type RealmAddress } from '../shared/introspection.js';
import { passwordGrant } from '../shared/password-grant.js';
import { introspectInput, tokenInput, toScope, userLoginInput } from './schemas.js';
import { tenantOfRealm } from './resolve-realm.js';
import type { DirectRoute } from '../../http/direct-lane.js';
import { isTenantRealm } from '../../tenancy/tenant.js';
import { orAfter } from '../../upstream/deadline.js';

function requireGrant(given: string | undefined, expected: string): void {
  if (given !== undefined && given !== expected) {
    throw new BrokerError('unsupported_grant_type', `grant_type must be ${expected}`);
  }
}

/** POST /oauth/connect/token: client credentials against the tenant realm (a direct route). */
export function clientCredentialsToken(deps: Deps): DirectRoute<typeof tokenInput> {
  return {
    name: 'token', path: '/oauth/connect/token', input: tokenInput,
    answer({ realm, client_id, client_secret, grant_type, scopes }, request) {
      // Anyone can send made-up clients and secrets here, each one a call to Keycloak.
      return deps.limits.refusals.run(request.address(), async () => {
        requireGrant(grant_type, 'client_credentials');
        const tenant = request.tenant = await tenantOfRealm(deps, realm);
        // The caller's own client, as given (realm-connector.ts `asGiven`).
        return (await clientCredentialsGrant(deps, tenant, { clientId: client_id, clientSecret: client_secret, asGiven: true }, toScope(scopes))).tokens;
      });
    },
  };
}

/**
 * POST /oauth/connect/user/login: password grant through the broker's own client, under
 * the same tenant policy and limits as ScaiWave's /token (a tenant that turned the
 * password grant off has it off on every surface).
 */
export function userPasswordLogin(deps: Deps): Koa.Middleware {
  return async function userPasswordLogin(ctx) {
    const { username, password, grant_type, scopes } = inputOf(ctx, userLoginInput);
    requireGrant(grant_type, 'password');
    sendJson(ctx, await passwordGrant(deps, ctx, ctx.state.tenant, { username, password, scope: toScope(scopes) }));
  };
}

/**
 * POST /oauth/connect/introspect: RFC 7662, booleans as booleans, at the realm that issued
 * the token (its `iss`, read without trusting it) when that realm is the named tenant's,
 * or one it moved from (the new realm would call an old token inactive); without a named
 * `realm`, at the issuing realm of any known tenant; otherwise at the tenant's realm.
 *
 * The document asks no client authentication here, so anyone can send made-up tokens, each one
 * a call to Keycloak: an inactive answer counts as a refusal of the caller's address
 * (refusal-gate.ts). A token whose own `exp` is past is inactive whatever else it says (forged,
 * its signature fails; genuine, it has expired), and is answered so without Keycloak, and
 * without counting: a resource server is handed expired tokens all day.
 */
export function introspectToken(deps: Deps): DirectRoute<typeof introspectInput> {
  const { tenants } = deps;
  return {
    name: 'introspect', path: '/oauth/connect/introspect', input: introspectInput,
    answer({ token, realm: named }, request) {
      return deps.limits.refusals.run(request.address(), async () => {
        const tenant = request.tenant = await tenantOfRealm(deps, named);
        const claims = claimsOf(token);
        if (typeof claims?.exp === 'number' && claims.exp * 1000 <= Date.now()) return INACTIVE;
        const issuing = typeof claims?.iss === 'string' ? await tenants.realmByIssuer(claims.iss) : undefined;
        const ownRealm = issuing && isTenantRealm(issuing, tenant);
        // The tenant whose realm is asked: the named one (its realm or one it moved from), or the issuing realm's.
        const owner = issuing && (ownRealm ? tenant : named === undefined ? await tenants.byRealm(issuing) : undefined);
        const target: RealmAddress = issuing && owner ? issuing : tenant;
        if (owner) request.tenant = owner; // the access line names the tenant whose realm answers
        // That tenant decides on the cache (config introspectionCache.tenants), not the default one.
        return introspectAt(deps, target, token, cachesIntrospection(deps, (owner ?? tenant).slug));
      }, (answer) => answer.active === false && answer !== INACTIVE);
    },
  };
}

const INACTIVE = Object.freeze({ active: false as const });

/** The token's payload, read without trusting it (once: its `exp` and its `iss`); none when it is no JWT. */
function claimsOf(token: string): jose.JWTPayload | undefined {
  try {
    return jose.decodeJwt(token);
  } catch {
    return undefined; // not a JWT: Keycloak says what it is
  }
}

/** GET /healthz: liveness only (the process answers); see /readyz for dependencies. */
const HEALTHY = prepare({ msg: 'OK' });
export async function health(ctx: Koa.Context): Promise<void> {
  sendPrepared(ctx, HEALTHY, 'no-store');
}

/**
 * GET /readyz: the store answers and the upstreams list their realms. An upstream whose
 * circuit breaker is open is reported as such ("open", "half-open" while probing), not
 * called; `upstreams` has each breaker's state and failure counts. One Keycloak server
 * down among several is "DEGRADED" but still 200: every replica shares that outage, and
 * taking them all out of a load balancer would take the other servers' tenants down too
 * (their requests answer 503 on their own). Not ready: the store, or every server, down.
 *
 * The check runs at most once a second, whoever asks (its answer is shared meanwhile): it
 * lists every realm of every server, and on the public port anyone could make Keycloak do
 * that without end, at about 6.6 ms of each server's CPU a time (attack helper, 2026-12-06).
 */
const READINESS_REUSE_MS = 1000;
/**
 * How long the check waits for each answer: a server slower than that is "slow", not up. A
 * probe waits for its answer only a second or a few (Kubernetes: 1 s by default), and a slow
 * realm list made this check take two upstream timeouts (attack helper round 30b: 10 s).
 */
export const READINESS_BOUND_MS = 2000;
interface Readiness {
  ready: boolean;
  body: { msg: string; checks: Record<string, string>; upstreams: Record<string, unknown> };
}

export function readiness(deps: Deps): Koa.Middleware {
  let last: { at: number; answer: Promise<Readiness> } | undefined;
  return async function readiness(ctx) {
    const now = performance.now();
    if (!last || now - last.at >= READINESS_REUSE_MS) last = { at: now, answer: checkReadiness(deps) };
    const { ready, body } = await last.answer;
    ctx.status = ready ? 200 : 503;
    if (!ready) ctx.set('Retry-After', '5');
    ctx.body = body;
  };
}

/** "up" when `check` succeeds by `until`, "down" when it fails, "slow" when it has not answered. */
function bounded(check: Promise<unknown>, until: number): Promise<'up' | 'down' | 'slow'> {
  return orAfter(check.then(() => 'up' as const, () => 'down' as const), until - performance.now(), 'slow' as const);
}

async function checkReadiness({ store, upstreams, tenants }: Deps): Promise<Readiness> {
  const checks: Record<string, string> = {};
  const until = performance.now() + READINESS_BOUND_MS;
  // The tenants as requests see them (a list past its time is used while it refreshes), asked
  // beside the checks: each has the same two seconds.
  const [storeCheck, tenantList, ...upstreamChecks] = await Promise.all([
    bounded(store.ping(), until),
    bounded(tenants.all(), until),
    ...upstreams.all().map((u) => bounded(u.admin.listRealms(), until)),
  ]);
  checks.store = storeCheck!;
  upstreams.all().forEach((u, i) => {
    const { state } = u.breaker.snapshot();
    checks[`keycloak:${u.name}`] = state !== 'closed' ? state : upstreamChecks[i]!;
  });
  const upstreamsUp = upstreams.all().filter((u) => checks[`keycloak:${u.name}`] === 'up').length;
  let ready = checks.store === 'up' && upstreamsUp > 0;
  if (ready && tenantList !== 'up') {
    checks.tenants = tenantList;
    ready = false;
  }
  // A server that answers its probe and lists its realms, while a realm's every call waits on it
  // past its caller's timeout (attack helper round 31: a proxy that lost the requests). Counted,
  // not named: this answer is on the public port, and realm names are the operator's.
  let held = 0;
  for (const u of upstreams.all()) {
    const n = u.slots.heldRealms().length;
    if (n) checks[`held:${u.name}`] = `${n} realm${n === 1 ? '' : 's'} with every call held (realm_broker_upstream_realm_held_calls)`;
    held += n;
  }
  return {
    ready,
    body: {
      msg: !ready ? 'NOT READY' : upstreamsUp < upstreams.all().length || held ? 'DEGRADED' : 'OK',
      checks,
      upstreams: Object.fromEntries(upstreams.all().map((u) => [u.name, u.breaker.snapshot()])),
    },
  };
}
