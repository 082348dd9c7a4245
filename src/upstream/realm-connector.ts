/**
 * Every OAuth call the broker makes to one realm. Tokens are Keycloak's (DESIGN decision 1):
 * responses pass through as Keycloak sent them.
 *
 * Two paths. The grants the broker proxies on every API call (client credentials, password,
 * refresh, introspection, revocation) are one form POST over the server's keep-alive pool
 * (keepalive-client.ts), with the client's secret in the form as openid-client's
 * ClientSecretPost sends it; their answers are passed on, not interpreted, so openid-client's
 * checks would add nothing but CPU. The sign-in's code exchange and token exchange keep
 * openid-client, whose ID-token checks they rely on.
 */
import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';
import type { RealmAddress, RealmMetadataCache } from './realm-metadata.js';
import { outcomeOf, type Metrics } from '../metrics/metrics.js';
import { addUpstreamTime } from '../request-scope.js';
import { translateUpstreamError } from './translate-error.js';
import type { UpstreamFetch } from './upstream-fetch.js';
import { keepBytes } from '../http/send-json.js';
import { UpstreamBadAnswer, UpstreamRefusal, type KeepAliveClient, type UpstreamAnswer } from './keepalive-client.js';
import type { RealmSecrets } from './realm-secrets.js';

export interface ClientCredentials {
  clientId: string;
  clientSecret?: string;
  /**
   * A caller's own client (the connect API's): sent to the realm as presented, never made into
   * the realm's own secret (realm-secrets.ts) even when its id is the broker's or a registry
   * app's. Otherwise the configured secret of those, presented at the public connect endpoint,
   * opened every realm as them (attack round 36).
   */
  asGiven?: true;
}

/** A token endpoint response as Keycloak sent it (all its fields, untouched). */
export type TokenResponse = Record<string, unknown> & { access_token: string; token_type: string };
export type IntrospectionResponse = Record<string, unknown> & { active: boolean };

function params(values: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key in values) {
    const v = values[key];
    if (v !== undefined && v !== '') out[key] = v;
  }
  return out;
}

/**
 * The form body of a back-channel call: `fields` and the client's credentials (as
 * openid-client's ClientSecretPost sends them), absent and empty values left out. Built in
 * one pass: an object spread, a copy without the empty values and a URLSearchParams per
 * call were about 5% of a proxied grant's CPU. `encodeURIComponent` writes a space as %20,
 * which application/x-www-form-urlencoded decoders read as URLSearchParams' `+`.
 */
function formOf(fields: Record<string, string | undefined>, client: ClientCredentials): string {
  let form = `client_id=${encodeURIComponent(client.clientId)}`;
  if (client.clientSecret) form += `&client_secret=${encodeURIComponent(client.clientSecret)}`;
  for (const name in fields) {
    const value = fields[name];
    if (value !== undefined && value !== '') form += `&${name}=${encodeURIComponent(value)}`;
  }
  return form;
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
    /**
     * The same for calls that load the realm's users (userinfo, the code exchange, token
     * exchange), whose time is the realm's to spend: each takes one of its slots (slotted-fetch.ts).
     */
    readonly userFetch: UpstreamFetch,
    /** The server's keep-alive pool, for the hot grants. */
    private readonly http: KeepAliveClient,
    /** Which clients have a secret of their own at each realm, and what it is. */
    private readonly secrets?: RealmSecrets,
    private readonly observe?: { metrics: Metrics; upstream: string },
  ) {}

  /** `client` as this realm knows it: the broker's clients' secrets made for this realm (realm-secrets.ts). */
  private async asKnownHere(client: ClientCredentials): Promise<ClientCredentials> {
    if (!client.clientSecret || client.asGiven || !this.secrets?.binds(client.clientId)) return client;
    return { clientId: client.clientId, clientSecret: await this.secrets.at(this.address.issuer, client.clientId, client.clientSecret) };
  }

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
  async configuration(given: ClientCredentials = this.brokerClient): Promise<oidc.Configuration> {
    const server = (await this.metadata.get(this.address, this.fetch)).backchannel;
    const client = await this.asKnownHere(given);
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
    // timeout (0: none) would restart the clock on every call. The calls made with this
    // configuration (code exchange, token exchange) load the realm's users: its slots.
    config.timeout = 0;
    config[oidc.customFetch] = this.userFetch as oidc.CustomFetch;
    if (!server.issuer.startsWith('https:')) oidc.allowInsecureRequests(config);
    return config;
  }

  private readonly configurations = new WeakMap<oidc.ServerMetadata, Map<string, oidc.Configuration>>();

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const end = this.observe?.metrics.upstreamDuration.startTimer({ upstream: this.observe.upstream, realm: this.realm, operation: what });
    const start = performance.now();
    try {
      const result = await fn();
      end?.({ outcome: 'ok' });
      return result;
    } catch (err) {
      const translated = translateUpstreamError(err, what);
      end?.({ outcome: outcomeOf(translated) });
      throw translated;
    } finally {
      addUpstreamTime(performance.now() - start);
    }
  }

  /**
   * One form POST to one of the realm's back-channel endpoints as `client` (the broker's own
   * client by default), the secret in the form (client_secret_post, as every caller's
   * Keycloak client is set up). Answers other than 200 become `UpstreamRefusal`s.
   */
  private async post(endpoint: 'token_endpoint' | 'introspection_endpoint' | 'revocation_endpoint', fields: Record<string, string | undefined>, given: ClientCredentials = this.brokerClient): Promise<UpstreamAnswer> {
    const server = (await this.metadata.get(this.address, this.fetch)).backchannel;
    const url = server[endpoint];
    if (typeof url !== 'string') throw new UpstreamBadAnswer(`the realm publishes no ${endpoint}`);
    // Awaited only when this realm has secrets of its own: no promise on the shared path.
    const client = this.secrets?.binds(given.clientId) && !given.asGiven ? await this.asKnownHere(given) : given;
    const answer = await this.http.postForm(url, formOf(fields, client), this.realm);
    if (answer.status !== 200) throw UpstreamRefusal.from(answer);
    return answer;
  }

  /** A token response: a JSON object with an access token, passed on as it came. */
  private async grant(fields: Record<string, string | undefined>, client?: ClientCredentials): Promise<TokenResponse> {
    const tokens = jsonObject(await this.post('token_endpoint', fields, client));
    if (typeof tokens.access_token !== 'string' || typeof tokens.token_type !== 'string') {
      throw new UpstreamBadAnswer('Keycloak sent a token response without access_token or token_type');
    }
    return tokens as TokenResponse;
  }

  clientCredentials(client: ClientCredentials, scope?: string): Promise<TokenResponse> {
    return this.call('client credentials grant', () => this.grant({ grant_type: 'client_credentials', scope }, client));
  }

  password(username: string, password: string, scope?: string, client?: ClientCredentials): Promise<TokenResponse> {
    return this.call('password grant', () => this.grant({ grant_type: 'password', username, password, scope }, client));
  }

  authorizationCode(code: string, redirectUri: string, codeVerifier?: string, client?: ClientCredentials): Promise<TokenResponse> {
    return this.call('authorization code grant', async () =>
      asSent(await oidc.genericGrantRequest(await this.configuration(client), 'authorization_code',
        params({ code, redirect_uri: redirectUri, code_verifier: codeVerifier }))));
  }

  refresh(refreshToken: string, scope?: string, client?: ClientCredentials): Promise<TokenResponse> {
    return this.call('refresh token grant', () => this.grant({ grant_type: 'refresh_token', refresh_token: refreshToken, scope }, client));
  }

  /** RFC 8693 standard token exchange (Keycloak 26.2+), as `client`. */
  tokenExchange(fields: Record<string, string | undefined>, client: ClientCredentials): Promise<TokenResponse> {
    return this.call('token exchange', async () =>
      asSent(await oidc.genericGrantRequest(await this.configuration(client), 'urn:ietf:params:oauth:grant-type:token-exchange', params(fields))));
  }

  introspect(token: string, client?: ClientCredentials): Promise<IntrospectionResponse> {
    return this.call('token introspection', async () => {
      const answer = jsonObject(await this.post('introspection_endpoint', { token }, client));
      if (typeof answer.active !== 'boolean') throw new UpstreamBadAnswer('Keycloak sent an introspection response without "active"');
      return answer as IntrospectionResponse;
    });
  }

  /**
   * RFC 7009 revocation as `client`. Resolves true when Keycloak revoked the token: it answers
   * 200 to a token it does not know as well (RFC 7009 §2.2), but then with an OAuth error in
   * the body (`invalid_token`), where a revocation's body is empty.
   */
  revoke(token: string, tokenTypeHint?: string, client?: ClientCredentials): Promise<boolean> {
    return this.call('token revocation', async () => {
      const answer = await this.post('revocation_endpoint', { token, token_type_hint: tokenTypeHint }, client);
      if (answer.body.length === 0) return true;
      try {
        return typeof (JSON.parse(answer.body.toString('utf8')) as { error?: unknown })?.error !== 'string';
      } catch {
        return true; // not an OAuth error
      }
    });
  }
}

/** A JSON object from a 200 answer, or the answer is unusable. */
function jsonObject(answer: UpstreamAnswer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(answer.body.toString('utf8'));
  } catch (err) {
    throw new UpstreamBadAnswer('Keycloak sent a body that is not JSON', { cause: err });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UpstreamBadAnswer('Keycloak sent JSON that is not an object');
  // A route that passes the answer on unchanged sends these bytes (http/send-json.ts).
  return keepBytes(value as Record<string, unknown>, answer.body);
}
