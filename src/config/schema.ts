/**
 * The one schema for every setting. Values come from the environment and, optionally,
 * a JSON file (CONFIG_FILE) for what does not fit in variables: several upstreams,
 * tenant overrides, host maps. See README "Configuration" for the reference.
 */
import { createPrivateKey } from 'node:crypto';
import { z } from 'zod';

/** What is wrong with a BROKER_SIGNING_JWK, if anything: it must be a private RSA key of 2048 bits or more, for RS256. */
function signingJwkProblem(value: string): string | undefined {
  let jwk: unknown;
  try {
    jwk = JSON.parse(value);
  } catch {
    return 'must be a JSON Web Key (JSON)';
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return 'must be a JSON Web Key (an object)';
  const { kty, d, alg } = jwk as Record<string, unknown>;
  if (kty !== 'RSA' || typeof d !== 'string') return 'must be a private RSA key (kty "RSA" with "d"): ID tokens are signed RS256';
  if (alg !== undefined && alg !== 'RS256') return `has alg ${JSON.stringify(alg)}; ID tokens are signed RS256`;
  try {
    const bits = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }).asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) return `is a ${bits}-bit RSA key; at least 2048 bits`;
  } catch (err) {
    return `is not a usable RSA private key (${(err as Error).message})`;
  }
  return undefined;
}

/**
 * An http(s) URL without credentials: they would show wherever the URL does (logs, errors),
 * and fetch refuses a URL that carries them anyway (attack helper round 27).
 */
const url = z.url({ protocol: /^https?$/ })
  .refine((v) => { const u = URL.parse(v); return !u || (!u.username && !u.password); }, 'must not carry a user name or password')
  .transform((u) => u.replace(/\/+$/, ''));

/**
 * A base URL (the broker's public URL, a Keycloak server's): no query or fragment, which would
 * end up inside every issuer and endpoint built on it, and written as the URL parser writes it
 * (`HTTPS://ID.EXAMPLE` is `https://id.example`: a scheme in capitals turned off Secure cookies
 * and HSTS, round 27).
 */
const baseUrl = url
  .refine((v) => !v.includes('?') && !v.includes('#'), 'must not carry a query or fragment')
  .transform((v) => new URL(v).href.replace(/\/+$/, ''));

const secret = z.string().min(1);

/** Node's timers hold at most this many ms; a longer one fired at once (TimeoutOverflowWarning, round 27). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A whole number: a JSON number from the file, or decimal digits from the environment. Nothing
 * else is read as one: `true`, `[5]`, `0x50` and `1e3` were (z.coerce, round 27).
 */
const whole = (min: number, max: number) =>
  z.preprocess((v) => (typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v), z.number({ error: 'must be a whole number' }).int().min(min).max(max));
/** The same, with a decimal part allowed (hours, minutes). */
const decimal = (min: number, max: number) =>
  z.preprocess((v) => (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : v), z.number({ error: 'must be a number' }).min(min).max(max));
/** Seconds a timer or a store entry can hold (the longest a timer takes). */
const seconds = () => z.number().int().positive().max(Math.floor(MAX_TIMER_MS / 1000));

export const upstreamSchema = z.strictObject({
  /** A name that tenant overrides refer to. */
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i),
  /** Where the broker reaches Keycloak. */
  url: baseUrl,
  /** The base URL browsers (and token issuers) see, when it differs from `url`. */
  publicUrl: baseUrl.optional(),
  admin: z.strictObject({
    realm: z.string().min(1).default('master'),
    clientId: z.string().min(1).default('realm-broker-admin'),
    clientSecret: secret.optional(),
  }),
  /**
   * Keep-alive connections to this server for the proxied grants; more requests at once
   * wait for one. Keycloak's own HTTP worker pool is the other bound: see README.
   */
  maxConnections: z.number().int().positive().max(10_000).default(64),
  /**
   * Calls one realm may have in flight at this server through the broker (8 times as many more
   * wait in line within their deadline; past that, 503): one realm's slow calls never take all
   * of the server's workers (upstream/realm-slots.ts).
   */
  maxInFlightPerRealm: z.number().int().positive().max(10_000).default(16),
  /**
   * Of those, the calls one client address may have in flight (as many times 8 more wait);
   * default half of `maxInFlightPerRealm`: one caller cannot take a realm's whole share.
   */
  maxInFlightPerAddress: z.number().int().positive().max(10_000).optional(),
  /**
   * How long a call whose caller has had its timeout keeps its realm's slot; unset: until Keycloak
   * answers it (upstream/realm-slots.ts). For a proxy before Keycloak that can lose a request and
   * keep its connection open; a bound lets a realm whose Keycloak calls stall for good keep one
   * more share of the server's workers busy each time it passes.
   */
  holdLimitMs: z.number().int().min(1000).max(MAX_TIMER_MS).optional(),
  /** Realms of this server that are not tenants (master is always skipped). */
  ignoreRealms: z.array(z.string()).default([]),
  /**
   * How `migrate` reads a realm of this server WITH its users' ids and password hashes,
   * which the admin API never hands out: `kc.sh export` on this server's database,
   * beside the running server (PostgreSQL and the like; not the dev-file database).
   */
  export: z.strictObject({
    /** A Keycloak distribution of the server's version; better not the running server's own (export may rebuild it). */
    kcHome: z.string().min(1),
    db: z.string().default('postgres'),
    dbUrl: z.string().min(1),
    dbUsername: z.string().optional(),
    dbPassword: z.string().optional(),
    /** A JDK 21+; default JAVA_HOME, else the newest under /usr/lib/jvm. */
    javaHome: z.string().optional(),
  }).optional(),
});

const featuresSchema = z.strictObject({
  auth: z.strictObject({ password_grant_enabled: z.boolean().optional() }).partial().optional(),
}).partial();

export const tenantOverrideSchema = z.strictObject({
  /** Serve this slug from another realm or server: the migration switch. */
  upstream: z.string().optional(),
  realm: z.string().optional(),
  /**
   * The id (UUID) of that realm: when given, the tenant is the realm of this id on that
   * upstream, whatever it is named now. A realm's name is its admin's to change, so a home
   * named by name alone goes to whichever realm of that server takes the name (`migrate`
   * writes the id into the homes it sets, and into the config it tells the operator to keep).
   */
  realmId: z.string().min(1).optional(),
  /**
   * The ids (UUIDs) of realms this tenant lived in before a move by config, whose tokens and
   * UUID still name it. Explicit: a realm's name is its admin's to change, so a realm that
   * merely carries the slug's name is never taken for the tenant's former home.
   */
  formerRealmIds: z.array(z.string().min(1)).optional(),
  /**
   * The realm this tenant moved from, by server and id, while it is not retired: its tokens are
   * still the tenant's users'. A migration keeps it in its live home; `migrate` prints it for the
   * config. By server too: a realm id is unique on its server only, and a copy of the id on
   * another server is not the tenant's by its id alone (attack round 33).
   */
  movedFrom: z.strictObject({
    upstream: z.string().min(1),
    realmId: z.string().min(1),
    /**
     * When the tenant moved (ISO 8601): sign-ins at the old realm are taken for
     * `formerRealmSignInMinutes` after it (those under way at the move), none later; without it, none.
     */
    at: z.iso.datetime({ offset: true }).optional(),
  }).optional(),
  displayName: z.string().optional(),
  emailDomains: z.array(z.string().toLowerCase()).optional(),
  features: featuresSchema.optional(),
});

/** An application of the app registry (DESIGN decision 4). */
export const appSchema = z.strictObject({
  name: z.string().min(1),
  /** GLOBAL: the client exists with this id in every tenant realm; served at the platform level. */
  global: z.boolean().default(false),
  /**
   * Not GLOBAL: the tenants (slugs) whose issuers serve the app, the realms it exists in
   * (required: an app no tenant names was served at every tenant's issuer, and so introspected
   * and revoked every tenant's tokens). A GLOBAL app is every tenant's and lists none.
   */
  tenants: z.array(z.string().min(1)).optional(),
  public: z.boolean().default(true),
  clientSecret: z.string().optional(),
  redirectUris: z.array(z.string()).default([]),
  postLogoutRedirectUris: z.array(z.string()).default([]),
  /**
   * OIDC Back-Channel Logout 1.0: where the broker POSTs a logout token when a session this
   * app signed in with ends (logout at any app of the session, at the realm, or by an admin).
   */
  backchannelLogoutUri: url.optional(),
  /** RFC 9126 §5: this app's authorization requests must come through …/oauth/par. */
  requirePushedAuthorizationRequests: z.boolean().default(false),
  grantTypes: z.array(z.enum(['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code', 'urn:ietf:params:oauth:grant-type:token-exchange']))
    .default(['authorization_code', 'refresh_token']),
});
export type AppConfig = z.infer<typeof appSchema>;

export const configSchema = z.strictObject({
  mode: z.enum(['dev', 'production']),
  host: z.string().min(1),
  port: whole(0, 65535),
  /** The management listener (/metrics, /healthz, /readyz); -1 turns it off. */
  managementPort: whole(-1, 65535),
  managementHost: z.string().min(1),
  publicUrl: baseUrl,
  upstreams: z.array(upstreamSchema).min(1),
  /** The broker's own confidential client, present in every tenant realm. */
  brokerClient: z.strictObject({ clientId: z.string().min(1), clientSecret: secret.optional() }),
  /**
   * The secrets of the broker's client and the registry's apps in the realms: one in every
   * realm ("shared", the demo's), or one per realm made from it ("per-realm", production's
   * default; upstream/realm-secrets.ts), so that no realm admin holds another realm's.
   */
  realmSecrets: z.enum(['shared', 'per-realm']),
  /**
   * Where tenants' email domains come from: the realms' `realm-broker.email-domains` attribute
   * and config ("realms", so that they move with a realm), or config only ("config"), for an
   * operator who does not trust every realm's admin with the domains their realm answers for:
   * a domain no tenant holds yet is any realm admin's to list (README, security model).
   */
  emailDomainsFrom: z.enum(['realms', 'config']).default('realms'),
  defaultTenant: z.string().optional(),
  tenants: z.record(z.string(), tenantOverrideSchema).default({}),
  scaiwave: z.strictObject({
    /** Host name (no port) → tenant slug for /v1/auth/*. */
    hosts: z.record(z.string(), z.string()).default({}),
    /**
     * Header that names the tenant explicitly (a proxy that knows the tenant, tests); empty
     * disables it. Opt-in: off unless configured (dev mode turns on x-tenant).
     */
    tenantHeader: z.string().default(''),
    /** The redirect URI of /v1/auth/login: per host, else one for all (default {publicUrl}/v1/auth/login). */
    redirectUris: z.record(z.string(), url).default({}),
    redirectUri: url.optional(),
    /**
     * Where a browser that lands on the redirect URI (GET /v1/auth/login?code=…) goes on to:
     * the front end that posts the code to POST /v1/auth/login. Unset: a small page says so.
     */
    frontendUrl: url.optional(),
    /** Audience a bearer token must carry at /v1/auth/register (unset: not checked). */
    audience: z.string().optional(),
    /** Failed password-grant attempts allowed per window, per username and per client address. */
    rateLimit: z.strictObject({
      perUser: z.number().int().positive().default(5),
      perAddress: z.number().int().positive().default(20),
      windowSeconds: z.number().int().positive().default(900),
    }).default({ perUser: 5, perAddress: 20, windowSeconds: 900 }),
  }).default({ hosts: {}, tenantHeader: '', redirectUris: {}, rateLimit: { perUser: 5, perAddress: 20, windowSeconds: 900 } }),
  apps: z.record(z.string(), appSchema).default({}),
  platform: z.strictObject({
    /** The realm of platform-level client credentials (the platform's own services). */
    homeTenant: z.string().optional(),
    /**
     * A signing key (private JWK, RS256) for broker-issued ID tokens; else shared through the
     * store. Checked here, at start: a broken one started a broker that said it was ready and
     * answered every JWKS with a 500 (round 27).
     */
    signingJwk: z.string().superRefine((v, ctx) => { const problem = signingJwkProblem(v); if (problem) ctx.addIssue({ code: 'custom', message: problem }); }).optional(),
    /** base64url of 32 random bytes: encrypts the signing keys kept in the store (BROKER_KEY_ENCRYPTION_KEY). */
    keyEncryptionKey: z.string()
      // Exactly 43 characters of the alphabet: Buffer.from skips anything else, so junk passed.
      .regex(/^[A-Za-z0-9_-]{43}$/, 'must be base64url of exactly 32 bytes (43 characters)')
      .refine((v) => new Set(Buffer.from(v, 'base64url')).size > 1, 'must be 32 random bytes, not one byte repeated')
      .optional(),
    /** How long a rotated-in signing key is published before it signs (longer than the JWKS max-age, 60 s). */
    keyPublishSeconds: seconds().default(120),
    idTokenTtlSeconds: seconds().default(300),
    /** RFC 8628: how long a device code lives, and the polling interval it asks for. */
    deviceCodeTtlSeconds: seconds().default(600),
    deviceIntervalSeconds: seconds().default(5),
    /** Wrong user codes allowed per client address per 5 minutes (RFC 8628 §5.1). */
    userCodeAttempts: z.number().int().positive().default(10),
    /** Email discoveries (each may query every realm) allowed per client address per 5 minutes. */
    discoveryAttempts: z.number().int().positive().default(30),
    /**
     * How an address with no domain rule finds its tenant: `lookup` searches every realm
     * for that exact email (convenient; the redirect target then tells whoever types an
     * address whether, and where, it has an account), `ask` shows every such address the
     * same page asking for the organisation's name (nothing about accounts shows).
     */
    emailWithoutDomainRule: z.enum(['lookup', 'ask']).default('lookup'),
    /** Sign-ins started (each stores a transaction) per client address per minute. */
    signInsPerAddress: z.number().int().positive().default(60),
    /** Device codes issued per client address per 5 minutes. */
    deviceCodesPerAddress: z.number().int().positive().default(30),
  }).default({ idTokenTtlSeconds: 300, deviceCodeTtlSeconds: 600, deviceIntervalSeconds: 5, userCodeAttempts: 10, discoveryAttempts: 30, signInsPerAddress: 60, deviceCodesPerAddress: 30, keyPublishSeconds: 120, emailWithoutDomainRule: 'lookup' }),
  /**
   * Client-credentials token cache (opt-in, per client id): a repeated grant for the same
   * client, realm and scope is answered from the store while the token has more than
   * `safetyMarginSeconds` left, and for at most `maxAgeSeconds` — the bound on how long a
   * disabled client or a changed secret can still get a cached token.
   */
  tokenCache: z.strictObject({
    clients: z.array(z.string()).default([]),
    safetyMarginSeconds: z.number().int().min(0).default(30),
    maxAgeSeconds: z.number().int().positive().default(60),
  }).default({ clients: [], safetyMarginSeconds: 30, maxAgeSeconds: 60 }),
  /**
   * Introspection cache (opt-in): an active token's introspection answer is kept for at most
   * `maxAgeSeconds` (0: off) and never past the token's `exp`, so a resource server's repeated
   * introspection of one token does not reach Keycloak each time. The bound on how long a token
   * that Keycloak alone ended (an admin's logout, a disabled user) can still read active;
   * revocation, logout and back-channel logout through the broker take effect at once.
   * `tenants`: the tenants (slugs) whose tokens are cached; every tenant when omitted.
   */
  introspectionCache: z.strictObject({
    maxAgeSeconds: z.number().int().min(0).max(300).default(0),
    tenants: z.array(z.string()).optional(),
  }).default({ maxAgeSeconds: 0 }),
  /**
   * How many reverse proxies in front of the broker append to X-Forwarded-For (0: none;
   * the socket's address is the client's). The client address is the entry that many
   * hops from the right: entries further left are the client's own say and are ignored.
   */
  trustProxy: z.number().int().min(0).max(10).default(0),
  /**
   * Refused requests a client address may make per minute where anyone can make Keycloak work
   * (wrong client secrets, made-up clients or tokens: http/refusal-gate.ts); past it, 429.
   */
  refusalsPerAddress: whole(1, 1_000_000).default(60),
  store: z.strictObject({
    redisUrl: z.string().optional(),
    prefix: z.string().default('rb:'),
    timeoutMs: whole(1, MAX_TIMER_MS).default(1000),
  }),
  upstreamTimeoutMs: whole(1, MAX_TIMER_MS),
  tenantCacheTtlMs: whole(1, MAX_TIMER_MS),
  /**
   * How long a tenant's name stays with its realm after that realm was last seen (deleted,
   * renamed away, its server unreadable): meanwhile no realm of another id takes the name
   * (tenancy/standing-realms.ts). Config (tenants.<slug>.upstream/realm) overrides it.
   */
  tenantHoldHours: decimal(0, 24 * 366),
  /** How long a realm must have served a name before the name is held for it (above). */
  tenantEstablishMinutes: decimal(0, 60 * 24 * 366),
  /**
   * How long after a tenant moved the broker still takes sign-ins at the realm it left (codes
   * at ScaiWave's /login): those under way at the move (a login page open, an app's cached
   * config). Later ones are refused: the old realm keeps its users as they were at the move
   * (one disabled since at the new realm could still sign in there: attack round 37).
   */
  formerRealmSignInMinutes: decimal(0, 60 * 24),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']),
  /**
   * How many bytes of log lines to hold while stdout does not take them (a stalled log
   * collector): past that, lines are dropped and counted, not kept until memory runs out.
   * Unset: the logger's default (http/logger.ts).
   */
  logBufferBytes: whole(65536, 2 ** 31).optional(),
  /**
   * Client connections held at once; past it new ones are closed at once (http/server.ts).
   * Unset: what the process's open-file limit leaves after the upstream pools and a reserve.
   */
  maxClientConnections: whole(1, 1_000_000).optional(),
  /**
   * Client connections one address holds at once (http/server.ts). Unset: a quarter of the cap
   * when the broker faces clients itself (no TRUST_PROXY), none behind a proxy (every connection
   * is the proxy's); 0: none.
   */
  maxConnectionsPerAddress: whole(0, 1_000_000).optional(),
});

export type Config = z.infer<typeof configSchema>;
export type UpstreamConfig = z.infer<typeof upstreamSchema>;
export type TenantOverride = z.infer<typeof tenantOverrideSchema>;
export type Features = z.infer<typeof featuresSchema>;
