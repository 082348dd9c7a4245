/**
 * Every OAuth call the broker makes to one realm, through openid-client. Tokens are
 * Keycloak's (DESIGN decision 1): responses pass through as Keycloak sent them.
 */
import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';
import type { RealmAddress, RealmMetadataCache } from './realm-metadata.js';
import { outcomeOf, type Metrics } from '../metrics/metrics.js';
import { timedUpstream } from '../request-scope.js';
import { translateUpstreamError } from './translate-error.js';
import type { UpstreamFetch } from './upstream-fetch.js';

export interface ClientCredentials {
  clientId: string;
  clientSecret?: string;
}

/** A token endpoint response as Keycloak sent it (all its fields, untouched). */
export type TokenResponse = Record<string, unknown> & { access_token: string; token_type: string };
export type IntrospectionResponse = Record<string, unknown> & { active: boolean };

function params(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined && v !== '')) as Record<string, string>;
}

/**
 * openid-client lowercases `token_type` (RFC 6749 makes it case-insensitive); Keycloak
 * always sends "Bearer", which is what our documented responses show.
 */
function asSent(res: oidc.TokenEndpointResponse): TokenResponse {
  const out = { ...res } as TokenResponse;
  if (out.token_type === 'bearer') out.token_type = 'Bearer';
  return out;
}

const MAX_CONFIGURATIONS = 500;

export class RealmConnector {
  constructor(
    readonly realm: string,
    readonly address: RealmAddress,
    private readonly metadata: RealmMetadataCache,
    private readonly brokerClient: ClientCredentials,
    /** The upstream's fetch: the request's deadline and the server's circuit breaker. */
    readonly fetch: UpstreamFetch,
    private readonly observe?: { metrics: Metrics; upstream: string },
  ) {}

  get issuer(): string {
    return this.address.issuer;
  }

  /** The realm's OpenID Provider metadata as Keycloak publishes it (cached). */
  async serverMetadata(): Promise<oidc.ServerMetadata> {
    return (await this.metadata.get(this.address, this.fetch)).published;
  }

  /**
   * The openid-client Configuration of one client of this realm, built once per client and
   * metadata (a new metadata object, after its cache refreshes, builds them anew). Clients
   * are the registry's apps and the callers of the connect API: bounded by what Keycloak
   * accepts, and by `MAX_CONFIGURATIONS` all the same.
   */
  async configuration(client: ClientCredentials = this.brokerClient): Promise<oidc.Configuration> {
    const server = (await this.metadata.get(this.address, this.fetch)).backchannel;
    let built = this.configurations.get(server);
    if (!built) {
      built = new Map();
      this.configurations.set(server, built);
    }
    // Hashed: a wrong secret sent by a caller is not kept in the clear.
    const key = createHash('sha256').update(`${client.clientId}\u0000${client.clientSecret ?? ''}`).digest('base64url');
    let config = built.get(key);
    if (!config) {
      if (built.size >= MAX_CONFIGURATIONS) built.clear();
      config = this.build(server, client);
      built.set(key, config);
    }
    return config;
  }

  private build(server: oidc.ServerMetadata, client: ClientCredentials): oidc.Configuration {
    const auth = client.clientSecret ? oidc.ClientSecretPost(client.clientSecret) : oidc.None();
    const config = new oidc.Configuration(server, client.clientId, undefined, auth);
    // The upstream's fetch applies the request's deadline; openid-client's own per-call
    // timeout (0: none) would restart the clock on every call.
    config.timeout = 0;
    config[oidc.customFetch] = this.fetch as oidc.CustomFetch;
    if (!server.issuer.startsWith('https:')) oidc.allowInsecureRequests(config);
    return config;
  }

  private readonly configurations = new WeakMap<oidc.ServerMetadata, Map<string, oidc.Configuration>>();

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const end = this.observe?.metrics.upstreamDuration.startTimer({ upstream: this.observe.upstream, realm: this.realm, operation: what });
    try {
      const result = await timedUpstream(fn);
      end?.({ outcome: 'ok' });
      return result;
    } catch (err) {
      const translated = translateUpstreamError(err, what);
      end?.({ outcome: outcomeOf(translated) });
      throw translated;
    }
  }

  clientCredentials(client: ClientCredentials, scope?: string): Promise<TokenResponse> {
    return this.call('client credentials grant', async () =>
      asSent(await oidc.clientCredentialsGrant(await this.configuration(client), params({ scope }))));
  }

  password(username: string, password: string, scope?: string, client?: ClientCredentials): Promise<TokenResponse> {
    return this.call('password grant', async () =>
      asSent(await oidc.genericGrantRequest(await this.configuration(client), 'password', params({ username, password, scope }))));
  }

  authorizationCode(code: string, redirectUri: string, codeVerifier?: string, client?: ClientCredentials): Promise<TokenResponse> {
    return this.call('authorization code grant', async () =>
      asSent(await oidc.genericGrantRequest(await this.configuration(client), 'authorization_code',
        params({ code, redirect_uri: redirectUri, code_verifier: codeVerifier }))));
  }

  refresh(refreshToken: string, scope?: string, client?: ClientCredentials): Promise<TokenResponse> {
    return this.call('refresh token grant', async () =>
      asSent(await oidc.refreshTokenGrant(await this.configuration(client), refreshToken, params({ scope }))));
  }

  /** RFC 8693 standard token exchange (Keycloak 26.2+), as `client`. */
  tokenExchange(fields: Record<string, string | undefined>, client: ClientCredentials): Promise<TokenResponse> {
    return this.call('token exchange', async () =>
      asSent(await oidc.genericGrantRequest(await this.configuration(client), 'urn:ietf:params:oauth:grant-type:token-exchange', params(fields))));
  }

  introspect(token: string, client?: ClientCredentials): Promise<IntrospectionResponse> {
    return this.call('token introspection', async () =>
      (await oidc.tokenIntrospection(await this.configuration(client), token)) as IntrospectionResponse);
  }

  revoke(token: string, tokenTypeHint?: string, client?: ClientCredentials): Promise<void> {
    return this.call('token revocation', async () =>
      oidc.tokenRevocation(await this.configuration(client), token, params({ token_type_hint: tokenTypeHint })));
  }
}
