/**
 * The admin API of one Keycloak server, through @keycloak/keycloak-admin-client.
 * The realm is passed on every call (the client's `setConfig` mutates a shared
 * instance, which concurrent requests must not do), and the service-account token
 * is refreshed by a provider before it expires, and once more after a 401.
 */
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { LRUCache } from 'lru-cache';
import type { Dispatcher } from 'undici';
import { BrokerError } from '../errors.js';
import type RealmRepresentation from '@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js';
import type UserRepresentation from '@keycloak/keycloak-admin-client/lib/defs/userRepresentation.js';
import type ClientRepresentation from '@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { deadlineSignal } from './deadline.js';
import type { SlottedFetch } from './slotted-fetch.js';
import type { RealmConnector } from './realm-connector.js';
import { translateUpstreamError } from './translate-error.js';
import { FETCH_OPTIONS, guardedCall } from './upstream-fetch.js';

export type { ClientRepresentation, RealmRepresentation, UserRepresentation };

/**
 * `answer` when it is a list. The admin client hands back an answer it cannot parse as its text
 * (an answer compressed against our asking, a proxy's page), which its types call a list.
 */
function listOf<T>(answer: T[], what: string): T[] {
  if (!Array.isArray(answer)) throw new BrokerError('upstream_bad_response', `Keycloak sent a ${what} that is not a list`);
  return answer;
}

/** How long a client's internal id is kept (clientInternalId), and a failed lookup. */
const CLIENT_ID_TTL_MS = 5 * 60_000;
const CLIENT_ID_FAILED_TTL_MS = 10_000;
/** What a failed lookup is kept as (not an id: ids are UUIDs). */
const LOOKUP_FAILED = '!';

/**
 * What a user search may take of a request's deadline: Keycloak asks the user federation the
 * realm's admin set up, and an LDAP server of theirs that never answers must not hold a
 * request (and with it a Keycloak worker) for the whole deadline (attacks of 2026-12-06).
 */
export const USER_SEARCH_BUDGET_MS = 2000;

/**
 * Keycloak's user-session ids: a UUID, or (26.x) a random base64url string. A session id comes
 * from a realm's own tokens (`sid`), whose admin can make them say anything (a hardcoded-claim
 * mapper), and the admin client puts it in a path unescaped where it matters: `..` made
 * `DELETE …/sessions/..` the deletion of the realm, done with the broker's service account
 * (attack of 2026-12-06). So a sid is used only when it has this shape.
 */
const SESSION_ID = /^[A-Za-z0-9_-]{1,128}$/;
export function isRealmSessionId(value: unknown): value is string {
  return typeof value === 'string' && SESSION_ID.test(value);
}

/**
 * A value the admin client puts in a path (it escapes `/`, `?`, `#` and `%`, not dots): never
 * empty, `.` or `..`, which would name the resource above. Ids that come from Keycloak's
 * answers (a client's) are checked too: a realm's admin chooses them at import.
 */
function pathSegment(what: string, value: string): string {
  if (value === '' || value === '.' || value === '..') throw new BrokerError('upstream_bad_response', `The realm's ${what} is not an id`);
  return value;
}

export class AdminConnector {
  private readonly client: KcAdminClient;
  private token?: { value: string; expiresAt: number };
  private pending?: Promise<string>;

  /** Clients' internal ids by realm and client id ('' for none), see clientInternalId. */
  private readonly clientIds = new LRUCache<string, string, { realm: string; clientId: string }>({
    max: 1000,
    ttl: CLIENT_ID_TTL_MS,
    allowStale: true, // an id past its time serves while it is looked up again
    fetchMethod: async (_key, _stale, { context, options }) => {
      try {
        return (await this.findClient(context.realm, context.clientId))?.id ?? '';
      } catch {
        // Kept a little, so that codes posted while the admin API fails do not each ask it again.
        options.ttl = CLIENT_ID_FAILED_TTL_MS;
        return LOOKUP_FAILED;
      }
    },
  });

  constructor(
    private readonly baseUrl: string,
    private readonly tokenRealm: RealmConnector,
    private readonly credentials: { clientId: string; clientSecret?: string },
    private readonly breaker: CircuitBreaker,
    private readonly timeoutMs: number,
    /** User searches are their realm's to slow down: each takes one of its slots. */
    private readonly slotted: SlottedFetch,
    /** The server's fetch pool (upstream-fetch.ts cappedAgent): the admin client's calls go through it. */
    agent: Dispatcher,
  ) {
    // The client spreads requestOptions into every fetch, so the getter hands each call the
    // current request's deadline (its own `timeout` option would restart the clock on every
    // call; its types leave `signal` out, which is why the cast).
    const requestOptions = { ...FETCH_OPTIONS, dispatcher: agent, get signal() { return deadlineSignal(timeoutMs); } } as object;
    this.client = new KcAdminClient({ baseUrl, realmName: tokenRealm.realm, requestOptions });
    this.client.registerTokenProvider({ getAccessToken: () => this.accessToken() });
  }

  private accessToken(): Promise<string> {
    if (this.token && this.token.expiresAt > Date.now()) return Promise.resolve(this.token.value);
    // Single-flight: concurrent requests share one token request.
    this.pending ??= this.tokenRealm.clientCredentials(this.credentials)
      .then((res) => {
        const lifetime = Number(res.expires_in ?? 60);
        this.token = { value: res.access_token, expiresAt: Date.now() + Math.max(5, lifetime - 30) * 1000 };
        return res.access_token;
      })
      .finally(() => { this.pending = undefined; });
    return this.pending;
  }

  private call<T>(what: string, fn: (c: KcAdminClient) => Promise<T>): Promise<T> {
    return this.withFreshTokenOn401(what, () => guardedCall(this.breaker, this.timeoutMs, () => fn(this.client)));
  }

  /** Runs `once`; after a 401 (the token was revoked, or the server restarted) once more with a new token. */
  private async withFreshTokenOn401<T>(what: string, once: () => Promise<T>): Promise<T> {
    try {
      return await once();
    } catch (err) {
      if ((err as { response?: Response }).response?.status !== 401) throw translateUpstreamError(err, what);
      this.token = undefined;
      try {
        return await once();
      } catch (again) {
        throw translateUpstreamError(again, what);
      }
    }
  }

  listRealms(): Promise<RealmRepresentation[]> {
    return this.call('listing realms', async (c) => listOf(await c.realms.find({ briefRepresentation: false }), 'realm list'));
  }

  /** The id of the realm that has the name `realm` now (undefined: none has). */
  async realmIdOf(realm: string): Promise<string | undefined> {
    const found = await this.call('reading a realm', (c) => c.realms.findOne({ realm }));
    return typeof found?.id === 'string' ? found.id : undefined;
  }

  findUsersByUsername(realm: string, username: string, budgetMs = USER_SEARCH_BUDGET_MS): Promise<UserRepresentation[]> {
    return this.searchUsers(realm, { username, max: '2' }, budgetMs);
  }

  findUsersByEmail(realm: string, email: string, budgetMs = USER_SEARCH_BUDGET_MS): Promise<UserRepresentation[]> {
    return this.searchUsers(realm, { email, max: '5' }, budgetMs);
  }

  /**
   * An exact user search. Its time is the realm's (USER_SEARCH_BUDGET_MS), so a search gets at
   * most `budgetMs` of the request's deadline, and its timeout does not count against the
   * server's breaker (upstream-fetch.ts). It takes one of the realm's slots, which it keeps past
   * its caller's timeout until Keycloak answers (slotted-fetch.ts). A raw call, as the admin
   * client takes no signal per call.
   */
  private async searchUsers(realm: string, query: Record<string, string>, budgetMs: number): Promise<UserRepresentation[]> {
    const url = `${this.baseUrl}/admin/realms/${encodeURIComponent(realm)}/users?${new URLSearchParams({ ...query, exact: 'true', briefRepresentation: 'true' })}`;
    return this.withFreshTokenOn401('user lookup', async () => {
      const headers = { authorization: `Bearer ${await this.accessToken()}`, accept: 'application/json' };
      const res = await this.slotted.fetch(realm, url, { headers }, { budgetMs, timeoutsCount: false });
      if (!res.ok) {
        await res.body?.cancel();
        throw Object.assign(new Error(`user search answered ${res.status}`), { response: res });
      }
      return (await res.json()) as UserRepresentation[];
    });
  }

  /** Ends one user session of a realm (404: already gone, which is fine). */
  async endSession(realm: string, sessionId: string): Promise<void> {
    // Checked here too, where it becomes a path, whatever the caller checked.
    if (!isRealmSessionId(sessionId)) throw new BrokerError('upstream_bad_response', 'The realm\'s session id is not a session id');
    await this.call('ending a session', (c) => c.realms.removeSession({ realm, sessionId }, { catchNotFound: true }));
  }

  /**
   * A client's internal id at `realm` (undefined: no such client, or the lookup failed), kept for
   * CLIENT_ID_TTL_MS (it changes only when the client is deleted and made again), a failure for
   * CLIENT_ID_FAILED_TTL_MS. By the realm's id as well as its name: a realm renamed meanwhile is
   * not taken for another. What a code names (scaiwave/code-realm.ts).
   */
  async clientInternalId(realm: { name: string; id: string }, clientId: string): Promise<string | undefined> {
    // Single-flight: the requests meanwhile share one lookup.
    const id = await this.clientIds.fetch(`${realm.id}\n${realm.name}\n${clientId}`, { context: { realm: realm.name, clientId } });
    return id && id !== LOOKUP_FAILED ? id : undefined;
  }

  async findClient(realm: string, clientId: string): Promise<ClientRepresentation | undefined> {
    const found = await this.call('client lookup', async (c) => listOf(await c.clients.find({ realm, clientId }), 'client list'));
    return found.find((x) => x?.clientId === clientId);
  }

  async createClient(realm: string, client: ClientRepresentation): Promise<void> {
    await this.call('client creation', (c) => c.clients.create({ realm, ...client }));
  }

  async updateClient(realm: string, id: string, client: ClientRepresentation): Promise<void> {
    await this.call('client update', (c) => c.clients.update({ realm, id: pathSegment('client id', id) }, client));
  }

  /** Keycloak's client update leaves protocol mappers alone: they are added one by one. */
  async addProtocolMapper(realm: string, id: string, mapper: NonNullable<ClientRepresentation['protocolMappers']>[number]): Promise<void> {
    await this.call('protocol mapper creation', (c) => c.clients.addProtocolMapper({ realm, id: pathSegment('client id', id) }, mapper));
  }

}
