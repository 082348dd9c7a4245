/** The mapping rules from realms + overrides to tenants, without a server. */
import assert from 'node:assert/strict';
import { buildTenants } from '../../src/tenancy/build-tenants.js';
import type { RealmEntry } from '../../src/tenancy/tenant.js';

const realm = (upstream: string, name: string, id: string, attributes: Record<string, string> = {}): RealmEntry => ({
  id, realm: name, upstream, issuer: `http://${upstream}/realms/${name}`, displayName: name, attributes,
});

describe('buildTenants', () => {
  it('makes each realm the tenant of its name, with settings from realm attributes', () => {
    const { tenants } = buildTenants([
      realm('a', 'acme', 'id-acme', { 'realm-broker.email-domains': 'Acme.example, acme.test', 'realm-broker.features.auth.password_grant_enabled': 'true' }),
      realm('a', 'globex', 'id-globex'),
    ], {}, ['a']);
    assert.deepEqual(tenants.map((t) => [t.slug, t.emailDomains, t.features.passwordGrantEnabled]), [
      ['acme', ['acme.example', 'acme.test'], true],
      ['globex', [], false],
    ]);
  });

  it('lets config override settings', () => {
    const { tenants } = buildTenants([realm('a', 'acme', 'id', { 'realm-broker.features.auth.password_grant_enabled': 'true' })],
      { acme: { emailDomains: ['x.example'], features: { auth: { password_grant_enabled: false } } } }, ['a']);
    assert.deepEqual(tenants[0]!.emailDomains, ['x.example']);
    assert.equal(tenants[0]!.features.passwordGrantEnabled, false);
  });

  it('moves a tenant to another server: the slug follows the override, the old realm id stays an alias', () => {
    const { tenants } = buildTenants([
      realm('old', 'acme', 'id-old'),
      realm('new', 'acme', 'id-new'),
    ], { acme: { upstream: 'new' } }, ['old', 'new']);
    assert.equal(tenants.length, 1);
    assert.equal(tenants[0]!.upstream, 'new');
    assert.equal(tenants[0]!.id, 'id-new');
    assert.deepEqual(tenants[0]!.aliasIds, ['id-old']);
  });

  it('serves a slug from a realm of another name, which then stands only under that slug', () => {
    const { tenants } = buildTenants([realm('a', 'acme', 'id-1'), realm('a', 'acme-v2', 'id-2')], { acme: { realm: 'acme-v2' } }, ['a']);
    assert.deepEqual(tenants.map((t) => [t.slug, t.realm, t.aliasIds]), [['acme', 'acme-v2', ['id-1']]]);
  });

  it('warns on a shadowed realm and on an override naming a missing realm', () => {
    const { tenants, warnings } = buildTenants([realm('a', 'acme', '1'), realm('b', 'acme', '2')], { ghost: { realm: 'nowhere' } }, ['a', 'b']);
    assert.equal(tenants.length, 1);
    assert.equal(tenants[0]!.upstream, 'a');
    assert.equal(warnings.length, 2);
  });
});
