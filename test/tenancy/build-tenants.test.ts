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

  it('moves a tenant to another server: the slug follows the override; a former realm of another id is one config names', () => {
    const realms = [realm('old', 'acme', 'id-old'), realm('new', 'acme', 'id-new')];
    const { tenants } = buildTenants(realms, { acme: { upstream: 'new', formerRealmIds: ['id-old'] } }, ['old', 'new']);
    assert.equal(tenants.length, 1);
    assert.equal(tenants[0]!.upstream, 'new');
    assert.equal(tenants[0]!.id, 'id-new');
    assert.deepEqual(tenants[0]!.aliasIds, ['id-old']);
    assert.deepEqual(tenants[0]!.formerRealms, [{ upstream: 'old', id: 'id-old' }]);
    // Not named by config: the realm of the slug's name elsewhere is not taken for the tenant's.
    assert.deepEqual(buildTenants(realms, { acme: { upstream: 'new' } }, ['old', 'new']).tenants[0]!.aliasIds, []);
    assert.deepEqual(buildTenants(realms, { acme: { upstream: 'new' } }, ['old', 'new']).tenants[0]!.formerRealms, []);
  });

  it('former realms are named by server and id: a migration\'s source, not any copy of the id elsewhere', () => {
    // Attack round 33: by id alone, a realm made on a third server with the tenant's id (or a
    // former id) was one of its former realms, and its tokens the tenant's users'.
    const realms = [realm('old', 'acme', 'id-acme'), realm('new', 'acme', 'id-acme'), realm('evil', 'x', 'id-acme'), realm('evil', 'y', 'id-gone')];
    const moved = buildTenants(realms, { acme: { upstream: 'new', realmId: 'id-acme', movedFrom: { upstream: 'old', realmId: 'id-acme' } } }, ['old', 'new', 'evil']);
    assert.deepEqual(moved.tenants.find((t) => t.slug === 'acme')!.formerRealms, [{ upstream: 'old', id: 'id-acme' }]);
    // A former id config lists, carried on two servers: neither is taken for the tenant's.
    const twice = buildTenants([realm('new', 'acme', 'id-new'), realm('old', 'acme-old', 'id-gone'), realm('evil', 'y', 'id-gone')], { acme: { formerRealmIds: ['id-gone'] } }, ['new', 'old', 'evil']);
    assert.deepEqual(twice.tenants.find((t) => t.slug === 'acme')!.formerRealms, []);
    assert.match(twice.warnings.join('\n'), /former realm id id-gone is carried on old\/acme-old, evil\/y: none of them is taken/);
  });

  it('serves a slug from a realm of another name, which then stands only under that slug', () => {
    const { tenants } = buildTenants([realm('a', 'acme', 'id-1'), realm('a', 'acme-v2', 'id-2')], { acme: { realm: 'acme-v2', formerRealmIds: ['id-1'] } }, ['a']);
    assert.deepEqual(tenants.map((t) => [t.slug, t.realm, t.aliasIds]), [['acme', 'acme-v2', ['id-1']]]);
  });

  it('an override with a realm id is that realm, whatever its name now; a realm renamed to the name it had takes nothing', () => {
    // The config entry `migrate` tells the operator to keep (attack helper round 23).
    const pin = { acme: { upstream: 'new', realm: 'acme', realmId: 'ID-ACME' } };
    const renamed = [realm('new', 'acme-corp', 'id-acme'), realm('new', 'acme', 'id-initech')];
    const { tenants, warnings } = buildTenants(renamed, pin, ['old', 'new']);
    assert.deepEqual(tenants.map((t) => [t.slug, t.realm, t.id]), [['acme', 'acme-corp', 'id-acme']]);
    assert.match(warnings.join('\n'), /its realm acme \(id id-acme\) on new is named acme-corp now/);
    // By name alone, the realm that took the name is served (what the id is for).
    assert.equal(buildTenants(renamed, { acme: { upstream: 'new', realm: 'acme' } }, ['old', 'new']).tenants.find((t) => t.slug === 'acme')!.id, 'id-initech');
    // Its realm gone: the tenant is not served (warned of), and not from the realm of its old name.
    const gone = buildTenants([realm('new', 'acme', 'id-initech')], pin, ['old', 'new']);
    assert.deepEqual(gone.tenants, []);
    assert.match(gone.warnings.join('\n'), /realm of id ID-ACME not found on upstream new/);
  });

  it('copies of one realm (same id) on two upstreams: the first serves it; an override naming a missing realm is warned of', () => {
    const { tenants, warnings } = buildTenants([realm('a', 'acme', '1'), realm('b', 'acme', '1')], { ghost: { realm: 'nowhere' } }, ['a', 'b']);
    assert.equal(tenants.length, 1);
    assert.equal(tenants[0]!.upstream, 'a');
    assert.equal(warnings.length, 2);
  });

  it('a realm renamed to another tenant\'s slug (another id) takes neither the tenant nor a place among its realms', () => {
    // The attack: victim "v" on upstream b; the admin of a realm on upstream a (earlier in
    // order) renames it to "v". Before, upstream order gave it the tenant, and the victim's
    // realm became its alias (or the renamed one the victim's).
    const realms = [realm('a', 'v', 'id-evil'), realm('b', 'v', 'id-victim')];
    const rules = { holdMs: 3_600_000, establishMs: 600_000 };
    const settled = new Map([['v', { upstream: 'b', id: 'id-victim', since: 0, seen: 600_000 }]]);
    const kept = buildTenants(realms, {}, ['a', 'b'], settled, new Set(), { now: 600_000, ...rules });
    assert.deepEqual(kept.tenants.map((t) => [t.slug, t.upstream, t.id, t.aliasIds]), [['v', 'b', 'id-victim', []]]);
    assert.match(kept.warnings.join('\n'), /ignoring realms of another id that took its name, on a \(id id-evil\)/);
    // A home not yet established (served for less than establishMs): contested, it is nobody's.
    const young = new Map([['v', { upstream: 'b', id: 'id-victim', since: 0, seen: 599_999 }]]);
    assert.deepEqual(buildTenants(realms, {}, ['a', 'b'], young, new Set(), { now: 599_999, ...rules }).tenants, []);
    // With no previous list (a replica starting after the rename): neither, and the operator is told.
    const cold = buildTenants(realms, {}, ['a', 'b']);
    assert.deepEqual(cold.tenants, []);
    assert.match(cold.warnings.join('\n'), /none serves it until the config names one \(tenants\.v\.upstream\)/);
    // The config pins it.
    assert.deepEqual(buildTenants(realms, { v: { upstream: 'b' } }, ['a', 'b']).tenants.map((t) => [t.id, t.aliasIds]), [['id-victim', []]]);
    // The tenant's realm missing from the lists (deleted and restored, renamed away, its server down):
    // within the hold, the name is nobody's; after it, the one realm left of that name serves it.
    const evilOnly = [realm('a', 'v', 'id-evil')];
    const before = new Map([['v', { upstream: 'b', id: 'id-victim', since: 0, seen: 1_000_000 }]]);
    const held = buildTenants(evilOnly, {}, ['a', 'b'], before, new Set(), { now: 1_000_000 + 3_599_999, ...rules });
    assert.deepEqual(held.tenants, []);
    assert.match(held.warnings.join('\n'), /tenant v: its realm b \(id id-victim\) is not in the lists; not served from a \(id id-evil\) before/);
    assert.equal(buildTenants(evilOnly, {}, ['a', 'b'], before, new Set(), { now: 1_000_000 + 3_600_000, ...rules }).tenants[0]!.id, 'id-evil');
    // Its server unreadable: nobody's, however long ago it was seen, established or not.
    assert.deepEqual(buildTenants(evilOnly, {}, ['a', 'b'], before, new Set(['b']), { now: 1e12, ...rules }).tenants, []);
    assert.deepEqual(buildTenants(evilOnly, {}, ['a', 'b'], young, new Set(['b']), { now: 1e12, ...rules }).tenants, []);
    // A name held for a moment only (a realm renamed in and out again) holds nothing once its realm has left.
    assert.equal(buildTenants(evilOnly, {}, ['a', 'b'], young, new Set(), { now: 600_000, ...rules }).tenants[0]!.id, 'id-evil');
  });

  it('an email domain a newcomer also claims stays with the tenant whose established home routed it; without such a home, with neither', () => {
    // The attack: a realm admin sets the domain attribute of their realm to another tenant's
    // domain (and makes a user with one of its addresses): the domain went to neither, and the
    // tenant's users got a chooser that offered the attacker's realm.
    const domains = { 'realm-broker.email-domains': 'acme.example' };
    const realms = [realm('a', 'acme', 'id-acme', domains), realm('a', 'evil', 'id-evil', domains)];
    const rules = { now: 600_000, holdMs: 3_600_000, establishMs: 600_000 };
    const routed = (slug: string, id: string, list: string[], since = 0) => [slug, { upstream: 'a', id, since, seen: 600_000, domains: list }] as const;
    const previous = new Map([routed('acme', 'id-acme', ['acme.example']), routed('evil', 'id-evil', [])]);
    const held = buildTenants(realms, {}, ['a'], previous, new Set(), rules);
    assert.deepEqual(held.tenants.map((t) => [t.slug, t.emailDomains]), [['acme', ['acme.example']], ['evil', []]]);
    assert.match(held.warnings.join('\n'), /email domain acme\.example is claimed by acme, evil: it stays with acme, which routed it first/);
    // No record, or a young one: neither, as before.
    for (const p of [new Map(), new Map([routed('acme', 'id-acme', ['acme.example'], 1)])]) {
      assert.deepEqual(buildTenants(realms, {}, ['a'], p, new Set(), rules).tenants.map((t) => t.emailDomains), [[], []]);
    }
  });

  it('one tenant per realm id: a realm of another name carrying a tenant\'s id (another server) is not served with it', () => {
    // Attack round 33: a realm made on server 2 with acme's id was a second tenant with that id,
    // reached by acme's UUID on the connect API, with acme's users' platform sub for its own.
    const realms = [realm('one', 'acme', 'id-acme'), realm('two', 'dup', 'ID-ACME'), realm('two', 'other', 'id-other')];
    const rules = { now: 600_000, holdMs: 3_600_000, establishMs: 600_000 };
    const stood = (slug: string, upstream: string, id: string) => [slug, { upstream, id, since: 0, seen: 600_000 }] as const;
    const slugs = (r: ReturnType<typeof buildTenants>) => r.tenants.map((t) => t.slug).sort();
    // acme established there: it keeps its id, the newcomer is not served.
    const held = buildTenants(realms, {}, ['one', 'two'], new Map([stood('acme', 'one', 'id-acme')]), new Set(), rules);
    assert.deepEqual(slugs(held), ['acme', 'other']);
    assert.match(held.warnings.join('\n'), /realm id id-acme is carried by dup \(two\/dup\) as well as acme \(one\/acme\): only acme is served with it/);
    // Whatever the order of the servers.
    assert.deepEqual(slugs(buildTenants(realms, {}, ['two', 'one'], new Map([stood('acme', 'one', 'id-acme')]), new Set(), rules)), ['acme', 'other']);
    // No history (a new store): neither, and the operator is told; then config decides.
    const none = buildTenants(realms, {}, ['one', 'two'], new Map(), new Set(), rules);
    assert.deepEqual(slugs(none), ['other']);
    assert.match(none.warnings.join('\n'), /none of them is served until the config names one/);
    assert.deepEqual(slugs(buildTenants(realms, { acme: { upstream: 'one', realmId: 'id-acme' } }, ['one', 'two'], new Map(), new Set(), rules)), ['acme', 'other']);
    // acme's server unreadable (a broker started meanwhile has no list of it): the copy alone
    // carries the id, and still takes nothing (round 34), nor once it is established in turn.
    const alone = [realm('two', 'dup', 'id-acme'), realm('two', 'other', 'id-other')];
    const away = buildTenants(alone, {}, ['one', 'two'], new Map([stood('acme', 'one', 'id-acme')]), new Set(['one']), rules);
    assert.deepEqual(slugs(away), ['other']);
    assert.match(away.warnings.join('\n'), /while tenant acme, which holds it, is missing from one: not served with it/);
    const later = { ...stood('dup', 'two', 'id-acme')[1], since: 100 };
    assert.deepEqual(slugs(buildTenants(realms, {}, ['one', 'two'], new Map([stood('acme', 'one', 'id-acme'), ['dup', later]]), new Set(), rules)), ['acme', 'other'], 'the earliest holder keeps it');
    // A tenant's former realm id (config) is its own: a realm carrying it is not another tenant.
    const moved = buildTenants([realm('one', 'acme', 'id-new'), realm('two', 'acme-old', 'id-old')], { acme: { formerRealmIds: ['id-old'] } }, ['one', 'two']);
    assert.deepEqual(slugs(moved), ['acme']);
  });

  it('a realm\'s email-domains attribute gives at most 100 well-formed domains', () => {
    const many = Array.from({ length: 150 }, (_, i) => `d${i}.example`).join(',');
    const { tenants, warnings } = buildTenants([realm('a', 'big', 'id', { 'realm-broker.email-domains': `not a domain, ${many}, d0.example` })], {}, ['a']);
    assert.equal(tenants[0]!.emailDomains.length, 100);
    assert.equal(tenants[0]!.emailDomains[0], 'd0.example');
    assert.match(warnings.join('\n'), /realm big on a lists 150 email domains: the first 100 are used/);
  });

  // Attack of 2026-12-06: `globex.example.` is globex.example to DNS and mail, but not to a
  // string comparison, so a realm claiming it was neither contested nor refused, and the
  // platform vouched for `bob@globex.example.` as that realm's.
  it('an email domain is a host name as DNS writes it without its root: no trailing or doubled dot, no bare label', () => {
    const odd = ['globex.example.', '.globex.example', 'globex..example', '-globex.example', 'globex-.example', 'localhost', 'a'.repeat(64) + '.example'];
    const { tenants } = buildTenants([
      realm('a', 'globex', 'id-g', { 'realm-broker.email-domains': 'globex.example' }),
      realm('a', 'evil', 'id-e', { 'realm-broker.email-domains': ['evil.example', 'xn--bcher-kva.example', 'a-b.c1.example', ...odd].join(',') }),
    ], {}, ['a']);
    assert.deepEqual(tenants.map((t) => t.emailDomains), [['globex.example'], ['evil.example', 'xn--bcher-kva.example', 'a-b.c1.example']]);
  });

  it('carries the realm\'s "login with email" (on unless the realm turns it off)', () => {
    const { tenants } = buildTenants([realm('a', 'on', 'id-1'), { ...realm('a', 'off', 'id-2'), loginWithEmail: false }], {}, ['a']);
    assert.deepEqual(tenants.map((t) => t.features.loginWithEmail), [true, false]);
  });
});
