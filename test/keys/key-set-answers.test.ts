/**
 * What a realm's key set answer becomes when it is not a key set. Keycloak cannot be made to
 * send these, so a small server plays the realm's certs endpoint. A 200 that is not JSON is a bad
 * answer (502 upstream_bad_response), not "keys unreachable" (503): jose reports a body it could
 * not parse with no cause, which read as Keycloak down (left alone in round 31, mended after).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';
import { loadConfig } from '../../src/config/load.js';
import { BrokerError } from '../../src/errors.js';
import { RealmTokenVerifier } from '../../src/keys/realm-token-verifier.js';
import type { TenantRegistry } from '../../src/tenancy/registry.js';
import type { RealmEntry, Tenant } from '../../src/tenancy/tenant.js';
import { Upstreams } from '../../src/upstream/upstreams.js';

describe("a realm's key set answer", function () {
  this.timeout(20_000);
  let server: Server;
  let upstreams: Upstreams;
  /** What the certs endpoint answers next: status and body. */
  let answer: { status: number; body: string };

  const realm = (upstream: string): RealmEntry => ({ id: 'id-r', realm: 'r', upstream, issuer: `${upstream}-issuer/realms/r`, displayName: 'r', attributes: {} });
  let entry: RealmEntry;
  const tenant = { id: 'id-r', slug: 'r', upstream: 'fake', aliasIds: [], formerRealms: [] } as unknown as Tenant;

  before(async () => {
    server = createServer((req, res) => {
      req.resume();
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const config = loadConfig({ REALM_BROKER_MODE: 'dev' }, { upstreams: [{ name: 'fake', url, admin: { clientSecret: 'x' } }] });
    upstreams = new Upstreams(config);
    entry = { ...realm('fake'), issuer: `${url}/realms/r` };
  });
  after(() => { upstreams.close(); server.closeAllConnections(); server.close(); });

  /** A verifier that knows the one realm, and a token that names it, signed by a key of nobody's. */
  const verify = async () => {
    const registry = { realmByIssuer: async (iss: string) => (iss === entry.issuer ? entry : undefined) } as unknown as TenantRegistry;
    const { privateKey } = await jose.generateKeyPair('RS256');
    const token = await new jose.SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'RS256', kid: 'k' }).setIssuer(entry.issuer).setExpirationTime('5m').sign(privateKey);
    return new RealmTokenVerifier(upstreams, registry, 3_000).verifyAccessToken(token, tenant).then(
      () => assert.fail('a token was accepted'),
      (err: unknown) => { assert.ok(err instanceof BrokerError, String(err)); return err; },
    );
  };

  it('a 200 that is not JSON is a bad answer (502), not Keycloak unreachable', async () => {
    answer = { status: 200, body: '{"keys": [' };
    const err = await verify();
    assert.equal(err.code, 'upstream_bad_response', `${err.code}: ${err.message}`);
  });

  it('JSON that is no key set is a bad answer too (jose: ERR_JWKS_INVALID)', async () => {
    answer = { status: 200, body: '{"keys": 7}' };
    assert.equal((await verify()).code, 'upstream_bad_response');
  });

  it('a key set without the token\'s key refuses the token (401), the answer being fine', async () => {
    const { publicKey } = await jose.generateKeyPair('RS256');
    answer = { status: 200, body: JSON.stringify({ keys: [{ ...(await jose.exportJWK(publicKey)), kid: 'other', alg: 'RS256', use: 'sig' }] }) };
    assert.equal((await verify()).code, 'invalid_token');
  });

  it('Keycloak failing (503) is Keycloak unavailable', async () => {
    answer = { status: 503, body: 'busy' };
    assert.equal((await verify()).code, 'upstream_unavailable');
  });
});
