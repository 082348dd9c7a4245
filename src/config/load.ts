/**
 * Loads the config once at start: environment over an optional JSON file, validated
 * against the schema, with every problem listed at once (like Dex's Validate()).
 * Strict by default: the mode is `production` unless the config file (the demo's) or
 * REALM_BROKER_MODE says `dev`, and only dev mode fills in the demo realms' secrets
 * (main.ts says so loudly at start). NODE_ENV=production always means production.
 */
import { readFileSync } from 'node:fs';
import { configSchema, type Config } from './schema.js';
import { normalisedHostKeys } from './host-keys.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** The demo realms' secrets: used only when mode is dev and nothing else is set, and refused in production. */
const DEV_SECRETS = {
  admin: 'realm-broker-admin-secret',
  broker: 'realm-broker-secret',
};

/** Every secret the demo (demo.config.json, realms/) publishes: refused in production. */
const PUBLISHED_SECRETS = new Set([...Object.values(DEV_SECRETS), 'connect-demo-secret', 'platform-service-secret', 'exchange-demo-secret']);

/**
 * What production refuses beyond missing settings (round 27): an http public URL, on which
 * cookies cannot be Secure nor `__Host-` and no HSTS is sent (but on a loopback host), and the
 * demo's published secrets.
 */
function productionProblems(config: Config): string[] {
  const problems: string[] = [];
  const pub = new URL(config.publicUrl);
  if (pub.protocol !== 'https:' && !isLoopback(pub.hostname)) {
    problems.push(`PUBLIC_URL ${config.publicUrl}: production needs https (Secure __Host- cookies, HSTS); http only on a loopback host`);
  }
  const published = (secret: string | undefined) => secret !== undefined && PUBLISHED_SECRETS.has(secret);
  for (const u of config.upstreams) {
    if (published(u.admin.clientSecret)) problems.push(`upstream ${u.name}: the admin client secret is the demo's, published in this repository; production needs its own`);
  }
  if (published(config.brokerClient.clientSecret)) {
    problems.push('BROKER_CLIENT_SECRET is the demo\'s, published in this repository; production needs its own');
  }
  // An app's secret is what its callers authenticate to the broker with: the demo config's
  // would let anyone who read this repository in (round 28: demo.config.json in production).
  for (const [id, app] of Object.entries(config.apps)) {
    if (published(app.clientSecret)) problems.push(`apps.${id}.clientSecret is the demo's, published in this repository; production needs its own`);
  }
  return problems;
}

/**
 * Settings that production allows, but that take away a protection the security model counts
 * on unless the operator meant it: said at start (main.ts) and by `config check` (attack round
 * 36: `REALM_SECRETS=shared` in production passed without a word).
 */
export function configCautions(config: Config): string[] {
  if (config.mode === 'dev') return [];
  const cautions: string[] = [];
  if (config.realmSecrets === 'shared') {
    cautions.push('REALM_SECRETS=shared: every realm holds the same secret for the broker\'s client and the apps, so an admin of one realm can use them at every other, straight at Keycloak (README "Per-realm client secrets")');
  }
  if (config.scaiwave.tenantHeader) {
    cautions.push(`TENANT_HEADER=${config.scaiwave.tenantHeader}: a request names its ScaiWave tenant by this header; only a proxy in front that sets it itself (and drops the caller's) may reach the broker`);
  }
  return cautions;
}

type Env = Record<string, string | undefined>;

/** TRUST_PROXY: a number of hops; `true` is one proxy, `false` none. */
function proxyHops(value: unknown): unknown {
  if (value === undefined || value === false || value === 'false') return 0;
  if (value === true || value === 'true') return 1;
  return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A loopback host: where an http PUBLIC_URL is allowed in production (a broker tried on one machine). */
const isLoopback = (host: string) => host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host) || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host);

/**
 * The environment as the loader reads it: a variable set to nothing is not set. `PORT=` listened
 * on a random port and `TENANT_HOLD_HOURS=` turned the name hold off (round 27). TENANT_HEADER
 * alone means something empty: no tenant header.
 */
function setVariables(env: Env): Env {
  return Object.fromEntries(Object.entries(env).filter(([name, value]) => value !== '' || name === 'TENANT_HEADER'));
}

/** The file's settings: a JSON object whose top-level names are settings, each section of its kind. */
function readConfigFile(path: string, problems: string[]): Record<string, any> {
  let file: unknown;
  try {
    file = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    problems.push(`CONFIG_FILE ${path}: ${(err as Error).message}`);
    return {};
  }
  if (!isObject(file)) {
    problems.push(`CONFIG_FILE ${path}: must be a JSON object of settings`);
    return {};
  }
  // A misspelt name was dropped without a word: "emailWithoutDomainRul": "ask" left account
  // lookups on (round 27). The schema is strict within sections; here, the top level.
  for (const name of Object.keys(file)) {
    if (!(name in configSchema.shape)) problems.push(`CONFIG_FILE ${path}: unknown setting "${name}"`);
  }
  for (const name of ['scaiwave', 'platform', 'store', 'brokerClient', 'tenants', 'apps', 'tokenCache', 'introspectionCache'] as const) {
    if (file[name] !== undefined && !isObject(file[name])) {
      problems.push(`CONFIG_FILE ${path}: ${name} must be an object`);
      delete file[name];
    }
  }
  if (file.upstreams !== undefined && !(Array.isArray(file.upstreams) && file.upstreams.every(isObject))) {
    problems.push(`CONFIG_FILE ${path}: upstreams must be a list of objects`);
    delete file.upstreams;
  }
  return file;
}

export function loadConfig(given: Env = process.env, overrides: Record<string, unknown> = {}): Config {
  const problems: string[] = [];
  const env = setVariables(given);
  const file: Record<string, any> = env.CONFIG_FILE ? readConfigFile(env.CONFIG_FILE, problems) : {};
  const mode = env.NODE_ENV === 'production' ? 'production' : (env.REALM_BROKER_MODE ?? file.mode ?? 'production');
  const dev = mode === 'dev';
  const port = env.PORT ?? file.port ?? 3000;
  const host = env.HOST ?? file.host ?? '127.0.0.1';

  const upstreams: any[] = (file.upstreams ?? [{ name: 'default', admin: {} }]).map((u: any) => ({ ...u }));
  if (env.KEYCLOAK_URL || !file.upstreams) {
    // KEYCLOAK_URL describes the first (or only) upstream.
    upstreams[0] = { ...upstreams[0], url: env.KEYCLOAK_URL ?? upstreams[0].url ?? 'http://127.0.0.1:8080' };
  }
  // KEYCLOAK2_URL and friends describe the second upstream, when the file names one
  // (FIXTURES: server 2), so that both servers move together in tests and deployments.
  const envOf = [
    { url: 'KEYCLOAK_URL', publicUrl: 'KEYCLOAK_PUBLIC_URL', adminId: 'KC_ADMIN_CLIENT_ID', adminSecret: 'KC_ADMIN_CLIENT_SECRET' },
    { url: 'KEYCLOAK2_URL', publicUrl: 'KEYCLOAK2_PUBLIC_URL', adminId: 'KC2_ADMIN_CLIENT_ID', adminSecret: 'KC2_ADMIN_CLIENT_SECRET' },
  ];
  upstreams.forEach((u, i) => {
    const names = envOf[i];
    u.admin = { ...(u.admin ?? {}) };
    if (names) {
      if (i > 0 && env[names.url]) u.url = env[names.url];
      if (env[names.publicUrl]) u.publicUrl = env[names.publicUrl];
      u.admin.clientId = env[names.adminId] ?? u.admin.clientId;
      u.admin.clientSecret = env[names.adminSecret] ?? u.admin.clientSecret;
    }
    if (!u.admin.clientSecret) {
      if (dev) u.admin.clientSecret = DEV_SECRETS.admin;
      else problems.push(`upstream ${u.name ?? '?'}: admin client secret is required in production (${names?.adminSecret ?? 'upstreams[].admin.clientSecret'})`);
    }
  });

  const brokerClient = {
    clientId: env.BROKER_CLIENT_ID ?? file.brokerClient?.clientId ?? 'realm-broker',
    clientSecret: env.BROKER_CLIENT_SECRET ?? file.brokerClient?.clientSecret ?? (dev ? DEV_SECRETS.broker : undefined),
  };
  if (!brokerClient.clientSecret) problems.push('BROKER_CLIENT_SECRET is required in production');
  if (!dev && !(env.PUBLIC_URL ?? file.publicUrl)) problems.push('PUBLIC_URL is required in production');

  const raw = {
    mode,
    host,
    port,
    managementPort: env.MANAGEMENT_PORT ?? file.managementPort ?? 9464,
    managementHost: env.MANAGEMENT_HOST ?? file.managementHost ?? host,
    publicUrl: env.PUBLIC_URL ?? file.publicUrl ?? `http://127.0.0.1:${port}`,
    upstreams,
    brokerClient,
    realmSecrets: env.REALM_SECRETS ?? file.realmSecrets ?? (dev ? 'shared' : 'per-realm'),
    emailDomainsFrom: env.EMAIL_DOMAINS_FROM ?? file.emailDomainsFrom,
    defaultTenant: env.DEFAULT_TENANT ?? file.defaultTenant,
    tenants: file.tenants,
    scaiwave: { ...file.scaiwave, tenantHeader: env.TENANT_HEADER ?? file.scaiwave?.tenantHeader ?? (dev ? 'x-tenant' : '') },
    store: {
      redisUrl: env.REDIS_URL ?? file.store?.redisUrl,
      prefix: env.STORE_PREFIX ?? file.store?.prefix,
      timeoutMs: env.STORE_TIMEOUT_MS ?? file.store?.timeoutMs,
    },
    upstreamTimeoutMs: env.UPSTREAM_TIMEOUT_MS ?? file.upstreamTimeoutMs ?? 5000,
    tenantCacheTtlMs: env.TENANT_CACHE_TTL_MS ?? file.tenantCacheTtlMs ?? 30_000,
    tenantHoldHours: env.TENANT_HOLD_HOURS ?? file.tenantHoldHours ?? 24,
    tenantEstablishMinutes: env.TENANT_ESTABLISH_MINUTES ?? file.tenantEstablishMinutes ?? 10,
    // Keycloak's login page lives 30 minutes (accessCodeLifespanLogin), ScaiWave's /config is cached 5.
    formerRealmSignInMinutes: env.FORMER_REALM_SIGN_IN_MINUTES ?? file.formerRealmSignInMinutes ?? 35,
    logLevel: env.LOG_LEVEL ?? file.logLevel ?? 'info',
    logBufferBytes: env.LOG_BUFFER_BYTES ?? file.logBufferBytes,
    maxClientConnections: env.MAX_CLIENT_CONNECTIONS ?? file.maxClientConnections,
    maxConnectionsPerAddress: env.MAX_CONNECTIONS_PER_ADDRESS ?? file.maxConnectionsPerAddress,
    trustProxy: proxyHops(env.TRUST_PROXY ?? file.trustProxy),
    refusalsPerAddress: env.REFUSALS_PER_ADDRESS ?? file.refusalsPerAddress,
    apps: file.apps,
    tokenCache: file.tokenCache,
    introspectionCache: file.introspectionCache,
    platform: {
      ...file.platform,
      ...(env.BROKER_SIGNING_JWK ? { signingJwk: env.BROKER_SIGNING_JWK } : {}),
      ...(env.BROKER_KEY_ENCRYPTION_KEY ? { keyEncryptionKey: env.BROKER_KEY_ENCRYPTION_KEY } : {}),
    },
    ...overrides,
  };

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.') || '(root)'}: ${issue.message}`);
  } else {
    const sw = parsed.data.scaiwave;
    sw.hosts = normalisedHostKeys(sw.hosts, 'scaiwave.hosts', problems);
    sw.redirectUris = normalisedHostKeys(sw.redirectUris, 'scaiwave.redirectUris', problems);
    const names = new Set(parsed.data.upstreams.map((u) => u.name));
    if (names.size !== parsed.data.upstreams.length) problems.push('upstreams: names must be unique');
    for (const [id, app] of Object.entries(parsed.data.apps)) {
      if (!app.public && !app.clientSecret) problems.push(`apps.${id}: a confidential app needs clientSecret`);
      if (!app.global && !app.tenants?.length) problems.push(`apps.${id}: an app that is not GLOBAL needs tenants (the slugs whose issuers serve it)`);
      if (app.global && app.tenants) problems.push(`apps.${id}: a GLOBAL app is every tenant's: leave tenants out`);
      for (const uri of app.redirectUris) {
        if (!URL.canParse(uri) || uri.includes('#')) problems.push(`apps.${id}.redirectUris: ${uri} is not an absolute URI without fragment`);
      }
    }
    const p = parsed.data.platform;
    if (!dev && !p.signingJwk && !p.keyEncryptionKey) {
      problems.push('production needs BROKER_KEY_ENCRYPTION_KEY (encrypts the signing keys kept in the store) or BROKER_SIGNING_JWK');
    }
    if (!dev) problems.push(...productionProblems(parsed.data));
    for (const [slug, t] of Object.entries(parsed.data.tenants)) {
      if (t.upstream && !names.has(t.upstream)) problems.push(`tenants.${slug}.upstream: no upstream named "${t.upstream}"`);
      if (t.movedFrom && !names.has(t.movedFrom.upstream)) problems.push(`tenants.${slug}.movedFrom.upstream: no upstream named "${t.movedFrom.upstream}"`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return parsed.data!;
}
