/**
 * The admin API of one Keycloak server, through @keycloak/keycloak-admin-client.
 * The realm is passed on every call (the client's `setConfig` mutates a shared
 * instance, which concurrent requests must not do), and the service-account token
 * is refreshed by a provider before it expires, and once more after a 401.
 */
import KcAdminClient from '@keycloak/keycloak-admin-client';
import type RealmRepresentation from '@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js';
import type UserRepresentation from '@keycloak/keycloak-admin-client/lib/defs/userRepresentation.js';
import type ClientRepresentation from '@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { deadlineSignal } from './deadline.js';
import type { RealmConnector } from './realm-connector.js';
import { translateUpstreamError } from './translate-error.js';
import { guardedCall } from './upstream-fetch.js';

export type { ClientRepresentation, RealmRepresentation, UserRepresentation };

export class AdminConnector {
  private readonly client: KcAdminClient;
  private token?: { value: string; expiresAt: number };
  private pending?: Promise<string>;

  constructor(
    baseUrl: string,
    private readonly tokenRealm: RealmConnector,
    private readonly credentials: { clientId: string; clientSecret?: string },
    private readonly breaker: CircuitBreaker,
    private readonly timeoutMs: number,
  ) {
    // The client spreads requestOptions into every fetch, so the getter hands each call the
    // current request's deadline (its own `timeout` option would restart the clock on every
    // call; its types leave `signal` out, which is why the cast).
    const requestOptions = { get signal() { return deadlineSignal(timeoutMs); } } as object;
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

  private async call<T>(what: string, fn: (c: KcAdminClient) => Promise<T>): Promise<T> {
    const guarded = () => guardedCall(this.breaker, this.timeoutMs, () => fn(this.client));
    try {
      return await guarded();
    } catch (err) {
      if ((err as { response?: Response }).response?.status === 401) {
        // The token was revoked or the server restarted: get a new one, once.
        this.token = undefined;
        try {
          return await guarded();
        } catch (again) {
          throw translateUpstreamError(again, what);
        }
      }
      throw translateUpstreamError(err, what);
    }
  }

  listRealms(): Promise<RealmRepresentation[]> {
    return this.call('listing realms', (c) => c.realms.find({ briefRepresentation: false }));
  }

  findUsersByUsername(realm: string, username: string): Promise<UserRepresentation[]> {
    return this.call('user lookup', (c) => c.users.find({ realm, username, exact: true, briefRepresentation: true, max: 2 }));
  }

  findUsersByEmail(realm: string, email: string): Promise<UserRepresentation[]> {
    return this.call('user lookup', (c) => c.users.find({ realm, email, exact: true, briefRepresentation: true, max: 5 }));
  }

  /** Ends one user session of a realm (404: already gone, which is fine). */
  async endSession(realm: string, sessionId: string): Promise<void> {
    await this.call('ending a session', (c) => c.realms.removeSession({ realm, sessionId }, { catchNotFound: true }));
  }

  async findClient(realm: string, clientId: string): Promise<ClientRepresentation | undefined> {
    const found = await this.call('client lookup', (c) => c.clients.find({ realm, clientId }));
    return found.find((x) => x.clientId === clientId);
  }

  async createClient(realm: string, client: ClientRepresentation): Promise<void> {
    await this.call('client creation', (c) => c.clients.create({ realm, ...client }));
  }

  async updateClient(realm: string, id: string, client: ClientRepresentation): Promise<void> {
    await this.call('client update', (c) => c.clients.update({ realm, id }, client));
  }

  /** Keycloak's client update leaves protocol mappers alone: they are added one by one. */
  async addProtocolMapper(realm: string, id: string, mapper: NonNullable<ClientRepresentation['protocolMappers']>[number]): Promise<void> {
    await this.call('protocol mapper creation', (c) => c.clients.addProtocolMapper({ realm, id }, mapper));
  }

}
