/**
 * The public readiness check costs Keycloak one realm listing a second, however many ask
 * (attack helper, 2026-12-06: 1,000 anonymous GET /auth/api/v1/readyz made both servers list
 * every realm each time, 6.6 ms of each one's CPU a request, and client-credentials grants of
 * every tenant went from 9 to 42 ms at the median). Against both real Keycloak servers.
 */
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../helpers/broker.js';

describe('readiness, asked by anyone', function () {
  this.timeout(30_000);
  let broker: TestBroker;
  before(async () => { broker = await startBroker(); });
  after(() => broker?.close());

  it('a burst of checks lists each server\'s realms once, and all get the answer', async () => {
    const listed: Record<string, number> = {};
    for (const upstream of broker.deps.upstreams.all()) {
      const { admin } = upstream;
      const list = admin.listRealms.bind(admin);
      admin.listRealms = () => { listed[upstream.name] = (listed[upstream.name] ?? 0) + 1; return list(); };
    }
    const answers = await Promise.all(Array.from({ length: 50 }, () => fetch(`${broker.url}/auth/api/v1/readyz`)));
    assert.deepEqual(new Set(answers.map((r) => r.status)), new Set([200]));
    assert.equal((await answers[0]!.json()).msg, 'OK');
    // The check's listing, and at most one of the tenant registry's (its own refresh, by its TTL).
    for (const u of broker.deps.upstreams.all()) assert.ok(listed[u.name]! >= 1 && listed[u.name]! <= 2, `${u.name}: ${listed[u.name]} listings`);
    const before = { ...listed };
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await fetch(`${broker.url}/auth/api/v1/readyz`)).status, 200);
    for (const u of broker.deps.upstreams.all()) assert.ok(listed[u.name]! > before[u.name]!, `${u.name}: a second later, checked again`);
  });
});
