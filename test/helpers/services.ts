/**
 * Root hooks: the suite needs both real Keycloak servers (FIXTURES: server 1 with acme
 * and globex, server 2 with initech) and the real Redis. When any is unreachable the
 * whole run fails here, loudly: a test that skips on a missing service would hide a
 * broken setup.
 */
import { existsSync } from 'node:fs';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { Redis } from 'ioredis';

export const KEYCLOAK_URL = process.env.KEYCLOAK_URL ?? 'http://127.0.0.1:8080';
export const KEYCLOAK2_URL = process.env.KEYCLOAK2_URL ?? 'http://127.0.0.1:8180';
/** The demo realms of each server (scripts/keycloak.sh imports realms/server<N>/). */
const SERVERS = [
  { url: KEYCLOAK_URL, realms: ['acme', 'globex'], start: 'npm run keycloak -- 1' },
  { url: KEYCLOAK2_URL, realms: ['initech'], start: 'npm run keycloak -- 2' },
];
export const REDIS_URL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ADMIN = {
  clientId: process.env.KC_ADMIN_CLIENT_ID ?? 'realm-broker-admin',
  clientSecret: process.env.KC_ADMIN_CLIENT_SECRET ?? 'realm-broker-admin-secret',
};

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(20_000);
    const problems: string[] = [];
    await Promise.all(SERVERS.map(async ({ url, realms, start }) => {
      for (const realm of realms) {
        try {
          const res = await fetch(`${url}/realms/${realm}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
          if (!res.ok) problems.push(`Keycloak at ${url} answered ${res.status} for realm ${realm} (demo realms not imported?)`);
        } catch (err) {
          problems.push(`Keycloak is not reachable at ${url}: ${(err as Error).message} (start it: ${start})`);
          return;
        }
      }
    }));
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000, retryStrategy: () => null });
    redis.on('error', () => {});
    try {
      await redis.connect();
      await redis.ping();
    } catch (err) {
      problems.push(`Redis is not reachable at ${REDIS_URL}: ${(err as Error).message}`);
    } finally {
      redis.disconnect();
    }
    if (!existsSync(CHROMIUM)) problems.push(`Chromium is not at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
    if (problems.length) throw new Error(`required services missing:\n  - ${problems.join('\n  - ')}`);
    await clearLockouts();
  },
  // Keycloak's quick-login check locks a user for a minute after two failures within a
  // second: tests that send wrong passwords must not lock the demo users for the next test.
  async afterEach() {
    await clearLockouts();
  },
};

/**
 * The demo realms keep Keycloak's brute-force protection on; the tests' wrong passwords
 * would lock the demo users across runs. Clear the failure counts before and after.
 */
export async function clearLockouts(): Promise<void> {
  await Promise.all(SERVERS.map(async ({ url, realms }) => {
    const admin = new KcAdminClient({ baseUrl: url, realmName: 'master' });
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    await Promise.all(realms.map((realm) => admin.attackDetection.delAll({ realm })));
  }));
}

/** Deletes every key a test wrote under its own prefix in the shared Redis. */
export async function cleanRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}
