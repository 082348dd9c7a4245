/**
 * Settings an operator gets wrong, and what the loader says (attack helper round 27, the
 * operator's surface): each was accepted before, some silently turning a protection off.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.js';

const dev = { REALM_BROKER_MODE: 'dev' };
const production = {
  NODE_ENV: 'production', PUBLIC_URL: 'https://id.example.com', KC_ADMIN_CLIENT_SECRET: 'own-admin-secret', BROKER_CLIENT_SECRET: 'own-broker-secret',
  BROKER_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
};
const dir = mkdtempSync(join(tmpdir(), 'rb-config-'));
let files = 0;
const configFile = (content: string) => {
  const path = join(dir, `config-${files++}.json`);
  writeFileSync(path, content);
  return path;
};

/** The problems loadConfig lists, or [] when it accepts. */
function problems(env: Record<string, string>, overrides?: Record<string, unknown>): string[] {
  try {
    loadConfig(env, overrides);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err; // a crash, not a message
    return err.problems;
  }
}
const refused = (env: Record<string, string>, pattern: RegExp) => {
  const found = problems(env);
  assert.ok(found.some((p) => pattern.test(p)), `refused with ${pattern}: ${JSON.stringify(found)}`);
};

describe('settings an operator gets wrong (round 27)', () => {
  it('production: an http PUBLIC_URL is refused but on a loopback host; the demo secrets are refused', () => {
    refused({ ...production, PUBLIC_URL: 'http://broker.example.com' }, /PUBLIC_URL .*https/);
    assert.deepEqual(problems({ ...production, PUBLIC_URL: 'http://127.0.0.1:3000' }), []);
    assert.deepEqual(problems({ ...production, PUBLIC_URL: 'http://localhost:3000' }), []);
    refused({ ...production, KC_ADMIN_CLIENT_SECRET: 'realm-broker-admin-secret' }, /admin client secret is the demo's/);
    refused({ ...production, BROKER_CLIENT_SECRET: 'realm-broker-secret' }, /BROKER_CLIENT_SECRET is the demo's/);
    // The demo config's apps in production (round 28): anyone who read the repository is platform-service.
    refused({ ...production, CONFIG_FILE: 'demo.config.json' }, /apps\.platform-service\.clientSecret is the demo's/);
    assert.deepEqual(problems({ ...production, PUBLIC_URL: 'http://[::ffff:127.0.0.1]:3000' }), []);
  });

  it('a URL is read as the parser writes it: a scheme in capitals is https, with Secure cookies; no query, fragment or credentials', () => {
    assert.equal(loadConfig({ ...production, PUBLIC_URL: 'HTTPS://ID.EXAMPLE.COM/' }).publicUrl, 'https://id.example.com');
    refused({ ...production, PUBLIC_URL: 'https://id.example.com/?x=1' }, /publicUrl: must not carry a query or fragment/);
    refused({ ...production, PUBLIC_URL: 'https://id.example.com/#f' }, /publicUrl: must not carry a query or fragment/);
    refused({ ...dev, KEYCLOAK_URL: 'http://kcuser:KcUrlPw@127.0.0.1:8080' }, /upstreams\.0\.url: must not carry a user name or password/);
  });

  it('timeouts past what a timer holds are refused, not fired at once; numbers are numbers', () => {
    refused({ ...dev, UPSTREAM_TIMEOUT_MS: '3000000000' }, /upstreamTimeoutMs/);
    refused({ ...dev, STORE_TIMEOUT_MS: '3000000000' }, /store\.timeoutMs/);
    refused({ ...dev, PORT: '0x50' }, /port: must be a whole number/);
    refused({ ...dev, PORT: '1e3' }, /port/);
    refused({ ...dev, CONFIG_FILE: configFile('{"mode":"dev","upstreamTimeoutMs":true}') }, /upstreamTimeoutMs/);
    refused({ ...dev, CONFIG_FILE: configFile('{"mode":"dev","refusalsPerAddress":[5]}') }, /refusalsPerAddress/);
    assert.equal(loadConfig({ ...dev, UPSTREAM_TIMEOUT_MS: '2500', TENANT_HOLD_HOURS: '1.5' }).upstreamTimeoutMs, 2500);
  });

  it('a variable set to nothing is unset: PORT= is 3000, TENANT_HOLD_HOURS= keeps the hold', () => {
    const c = loadConfig({ ...dev, PORT: '', MANAGEMENT_PORT: '', TENANT_HOLD_HOURS: '', TENANT_ESTABLISH_MINUTES: '' });
    assert.equal(c.port, 3000);
    assert.equal(c.managementPort, 9464);
    assert.equal(c.tenantHoldHours, 24);
    assert.equal(c.tenantEstablishMinutes, 10);
    assert.equal(loadConfig({ ...dev, TENANT_HEADER: '' }).scaiwave.tenantHeader, '', 'TENANT_HEADER= still turns the header off');
  });

  it('a misspelt setting is named, at the top of the file and within its sections', () => {
    const path = configFile(JSON.stringify({ mode: 'dev', defaultTenat: 'acme', platform: { emailWithoutDomainRul: 'ask' }, tenants: { acme: { emailDomain: ['x'] } } }));
    const found = problems({ CONFIG_FILE: path }).join('\n');
    assert.match(found, /unknown setting "defaultTenat"/);
    assert.match(found, /platform.*emailWithoutDomainRul/);
    assert.match(found, /tenants\.acme.*emailDomain/);
    assert.deepEqual(problems({ CONFIG_FILE: 'demo.config.json' }), [], 'the demo config is clean');
  });

  it('scaiwave host maps: keys as requests are looked up, and a key that is no host name, or names one twice, refused (round 48)', () => {
    const sw = (hosts: Record<string, string>, redirectUris: Record<string, string> = {}) => ({ ...dev, CONFIG_FILE: configFile(JSON.stringify({ mode: 'dev', scaiwave: { hosts, redirectUris } })) });
    const loaded = loadConfig(sw({ 'Globex.Example.': 'globex', 'bücher.example': 'acme', '[::1]': 'acme' }, { 'APP.example': 'https://app.example/cb' })).scaiwave;
    assert.deepEqual({ ...loaded.hosts }, { 'globex.example': 'globex', 'xn--bcher-kva.example': 'acme', '[::1]': 'acme' });
    assert.deepEqual({ ...loaded.redirectUris }, { 'app.example': 'https://app.example/cb' });
    refused(sw({ 'initech.example:3000': 'initech' }), /scaiwave\.hosts: "initech\.example:3000" is not a host name/);
    refused(sw({ 'https://acme.example': 'acme' }), /is not a host name/);
    refused(sw({ 'a b.example': 'acme' }), /is not a host name/);
    refused(sw({ 'a..example': 'acme' }), /is not a host name/);
    refused(sw({ 'acme.example': 'acme', 'ACME.example.': 'globex' }), /"acme\.example" and "ACME\.example\." name the same host/);
    refused(sw({}, { 'x.example:8443': 'https://x.example/cb' }), /scaiwave\.redirectUris: "x\.example:8443" is not a host name/);
  });

  it('a file of the wrong shape is a message, not a crash', () => {
    refused({ ...dev, CONFIG_FILE: configFile('null') }, /must be a JSON object of settings/);
    refused({ ...dev, CONFIG_FILE: configFile('[1,2]') }, /must be a JSON object of settings/);
    refused({ ...dev, CONFIG_FILE: configFile('{"mode":"dev","upstreams":{}}') }, /upstreams must be a list of objects/);
    refused({ ...dev, CONFIG_FILE: configFile('{"mode":"dev","scaiwave":"x"}') }, /scaiwave must be an object/);
  });

  it('BROKER_SIGNING_JWK is checked at start: a private RSA key of 2048 bits or more', () => {
    const rsa = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits }).privateKey.export({ format: 'jwk' });
    const good = rsa(2048);
    assert.deepEqual(problems({ ...production, BROKER_SIGNING_JWK: JSON.stringify(good) }), []);
    refused({ ...production, BROKER_SIGNING_JWK: 'not json' }, /signingJwk: must be a JSON Web Key/);
    const { d, p, q, dp, dq, qi, ...publicOnly } = good;
    refused({ ...production, BROKER_SIGNING_JWK: JSON.stringify(publicOnly) }, /must be a private RSA key/);
    refused({ ...production, BROKER_SIGNING_JWK: JSON.stringify(rsa(1024)) }, /1024-bit RSA key; at least 2048/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    refused({ ...production, BROKER_SIGNING_JWK: JSON.stringify(ec) }, /must be a private RSA key/);
    assert.equal([d, p, q, dp, dq, qi].length, 6);
  });

  it('BROKER_KEY_ENCRYPTION_KEY: 43 characters of base64url, not one byte repeated', () => {
    const key = randomBytes(32).toString('base64url');
    refused({ ...production, BROKER_KEY_ENCRYPTION_KEY: `${key.slice(0, 20)}!!!!*** ${key.slice(20)}` }, /exactly 32 bytes/);
    refused({ ...production, BROKER_KEY_ENCRYPTION_KEY: Buffer.alloc(32).toString('base64url') }, /not one byte repeated/);
  });
});
