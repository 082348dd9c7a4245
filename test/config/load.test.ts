import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { configCautions, ConfigError, loadConfig } from '../../src/config/load.js';

describe('config', () => {
  it('is strict by default: without a mode, it is production and fills in no demo secret', () => {
    assert.throws(() => loadConfig({}), (err: unknown) => err instanceof ConfigError
      && ['KC_ADMIN_CLIENT_SECRET', 'BROKER_CLIENT_SECRET', 'PUBLIC_URL', 'BROKER_KEY_ENCRYPTION_KEY'].every((w) => err.message.includes(w)));
  });

  it('has working dev defaults when dev mode is asked for', () => {
    const c = loadConfig({ REALM_BROKER_MODE: 'dev' });
    assert.equal(c.mode, 'dev');
    assert.equal(c.scaiwave.tenantHeader, 'x-tenant', 'the tenant header is a dev convenience');
    assert.equal(c.port, 3000);
    assert.equal(c.publicUrl, 'http://127.0.0.1:3000');
    assert.equal(c.upstreams[0]!.url, 'http://127.0.0.1:8080');
    assert.equal(c.brokerClient.clientSecret, 'realm-broker-secret');
    assert.equal(c.store.redisUrl, undefined);
  });

  it('defaults no secret in production and lists every problem at once', () => {
    try {
      loadConfig({ NODE_ENV: 'production', PORT: 'eighty', KEYCLOAK_URL: 'ftp://x', LOG_LEVEL: 'loud' });
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const text = err.problems.join('\n');
      for (const expected of ['KC_ADMIN_CLIENT_SECRET', 'BROKER_CLIENT_SECRET', 'PUBLIC_URL', 'port', 'upstreams.0.url', 'logLevel']) {
        assert.ok(text.includes(expected), `mentions ${expected}:\n${text}`);
      }
    }
  });

  it('accepts a complete production config', () => {
    const c = loadConfig({
      NODE_ENV: 'production', PUBLIC_URL: 'https://id.example.com/', KC_ADMIN_CLIENT_SECRET: 'a', BROKER_CLIENT_SECRET: 'b',
      REDIS_URL: 'redis://127.0.0.1:6379', BROKER_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url'), TRUST_PROXY: '2',
    });
    assert.equal(c.publicUrl, 'https://id.example.com');
    assert.equal(c.scaiwave.tenantHeader, '', 'the tenant header is opt-in in production');
    assert.equal(c.trustProxy, 2);
    assert.equal(c.store.redisUrl, 'redis://127.0.0.1:6379');
    assert.deepEqual(configCautions(c), [], 'nothing to say');
  });

  it('says what a production setting takes away: one secret in every realm, a tenant header (attack round 36)', () => {
    const env = {
      NODE_ENV: 'production', PUBLIC_URL: 'https://id.example.com/', KC_ADMIN_CLIENT_SECRET: 'a', BROKER_CLIENT_SECRET: 'b',
      BROKER_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url'), REALM_SECRETS: 'shared', TENANT_HEADER: 'x-org',
    };
    const cautions = configCautions(loadConfig(env));
    assert.equal(cautions.length, 2);
    assert.match(cautions[0]!, /REALM_SECRETS=shared: every realm holds the same secret/);
    assert.match(cautions[1]!, /TENANT_HEADER=x-org/);
    assert.deepEqual(configCautions(loadConfig({ REALM_BROKER_MODE: 'dev' })), [], 'the demo says DEV MODE instead');
  });

  it('applies KEYCLOAK_URL to the first upstream of the file and KEYCLOAK2_URL to the second', () => {
    const c = loadConfig({
      CONFIG_FILE: 'demo.config.json', KEYCLOAK_URL: 'http://kc1:8080', KEYCLOAK2_URL: 'http://kc2:8180',
      KEYCLOAK2_PUBLIC_URL: 'https://id2.example.com', KC2_ADMIN_CLIENT_SECRET: 's2',
    });
    assert.deepEqual(c.upstreams.map((u) => [u.name, u.url, u.publicUrl]), [
      ['server1', 'http://kc1:8080', undefined],
      ['server2', 'http://kc2:8180', 'https://id2.example.com'],
    ]);
    assert.equal(c.upstreams[1]!.admin.clientSecret, 's2');
    const demo = loadConfig({ CONFIG_FILE: 'demo.config.json' });
    assert.deepEqual(demo.upstreams.map((u) => u.url), ['http://127.0.0.1:8080', 'http://127.0.0.1:8180']);
    assert.equal(demo.scaiwave.hosts['initech.localhost'], 'initech');
  });

  it('reports a tenant override naming an unknown upstream, and a broken CONFIG_FILE', () => {
    assert.throws(() => loadConfig({ REALM_BROKER_MODE: 'dev' }, { tenants: { acme: { upstream: 'nope' } } }), /no upstream named "nope"/);
    // A migration's old realm on a server the broker does not know (a typo): said at start, not silently no former realm.
    assert.throws(() => loadConfig({ REALM_BROKER_MODE: 'dev' }, { tenants: { acme: { movedFrom: { upstream: 'old-box', realmId: 'x' } } } }), /tenants\.acme\.movedFrom\.upstream: no upstream named "old-box"/);
    assert.throws(() => loadConfig({ CONFIG_FILE: '/nonexistent.json' }), /CONFIG_FILE/);
  });

  it('reads TRUST_PROXY as a number of hops (true: one, false: none) and refuses a short encryption key', () => {
    assert.equal(loadConfig({ REALM_BROKER_MODE: 'dev', TRUST_PROXY: 'true' }).trustProxy, 1);
    assert.equal(loadConfig({ REALM_BROKER_MODE: 'dev', TRUST_PROXY: 'false' }).trustProxy, 0);
    assert.throws(() => loadConfig({ REALM_BROKER_MODE: 'dev', BROKER_KEY_ENCRYPTION_KEY: 'c2hvcnQ' }), /32 bytes/);
  });
});
