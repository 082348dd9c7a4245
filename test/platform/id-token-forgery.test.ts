/**
 * Issue 8, defect 2: a tenant realm's admin installs a signing key of their own and signs
 * an ID token claiming the platform (or another tenant's) issuer and any user. Relying
 * parties pick keys by `kid` from the issuer's `jwks_uri`, so that URI must publish the
 * broker's keys only; the documented platform JWKS (realm keys, for access tokens) binds
 * each key to its realm issuer.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import * as jose from 'jose';
import { realmKeyOf, startBroker, type TestBroker } from '../helpers/broker.js';
import { ADMIN, KEYCLOAK_URL } from '../helpers/services.js';

describe('ID tokens cannot be forged with a realm key', function () {
  this.timeout(60_000);
  let broker: TestBroker;
  let admin: KcAdminClient;
  let componentId: string;
  let evil: { privateKey: CryptoKey; kid: string };

  before(async () => {
    admin = new KcAdminClient({ baseUrl: KEYCLOAK_URL, realmName: 'master' });
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    // The acme admin's own key, installed beside acme's (lowest priority: it does not sign acme's tokens).
    const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
    const pem = await jose.exportPKCS8(privateKey);
    const realm = await admin.realms.findOne({ realm: 'acme' });
    ({ id: componentId } = await admin.components.create({
      realm: 'acme', name: `rb-test-evil-${randomUUID().slice(0, 8)}`, providerId: 'rsa', providerType: 'org.keycloak.keys.KeyProvider',
      parentId: realm!.id, config: { priority: ['1'], enabled: ['true'], active: ['true'], algorithm: ['RS256'], privateKey: [pem] },
    }));
    const n = (await jose.exportJWK(publicKey)).n;
    const certs = (await (await fetch(`${KEYCLOAK_URL}/realms/acme/protocol/openid-connect/certs`)).json()) as { keys: jose.JWK[] };
    const published = certs.keys.find((k) => k.n === n);
    assert.ok(published?.kid, 'Keycloak publishes the installed key');
    evil = { privateKey, kid: published.kid };
    broker = await startBroker();
  });
  after(async () => {
    await broker?.close();
    if (componentId) await admin.components.del({ realm: 'acme', id: componentId });
  });

  const forge = (claims: jose.JWTPayload) => new jose.SignJWT({ email: 'bob@globex.example', tenant: 'globex', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: evil.kid, typ: 'JWT' })
    .setIssuedAt().setExpirationTime('5m').setSubject('bob-sub').sign(evil.privateKey);

  for (const which of ['platform', 'tenant globex'] as const) {
    it(`an RP of the ${which} issuer rejects an ID token signed with the acme admin's key`, async () => {
      const issuer = which === 'platform' ? `${broker.url}/api/v1/platform/oauth` : `${broker.url}/api/v1/auth/tenants/globex/oauth`;
      const meta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
      const forged = await forge({ iss: issuer, aud: 'platform-demo' });
      await assert.rejects(
        jose.jwtVerify(forged, jose.createRemoteJWKSet(new URL(meta.jwks_uri)), { issuer, audience: 'platform-demo' }),
        (err: Error) => err.name === 'JWKSNoMatchingKey',
      );
      const { keys } = (await (await fetch(meta.jwks_uri)).json()) as { keys: jose.JWK[] };
      assert.deepEqual(keys.map((k) => k.kid), [(await broker.deps.signingKeys.get()).kid], 'the broker key alone');
    });
  }

  it('the documented platform JWKS ties the key to acme: an access token claiming globex does not verify', async () => {
    const forged = await forge({ iss: `${KEYCLOAK_URL}/realms/globex`, aud: 'account' });
    await assert.rejects(jose.jwtVerify(forged, realmKeyOf(broker.url), { issuer: `${KEYCLOAK_URL}/realms/globex` }), /no key/);
    const { keys } = (await (await fetch(`${broker.url}/api/v1/platform/.well-known/jwks.json`)).json()) as { keys: (jose.JWK & { iss?: string })[] };
    assert.equal(keys.find((k) => k.kid === evil.kid)?.iss, `${KEYCLOAK_URL}/realms/acme`);
  });
});
