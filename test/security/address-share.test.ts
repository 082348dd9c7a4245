/**
 * One client address takes at most its part of a realm's share of Keycloak (realm-slots.ts),
 * even with calls that succeed (attack helper, 2026-12-06, round 3): anyone with one valid token
 * can have it introspected without end, and no count of refusals stops that. 300 parallel
 * streams from one address took acme's whole share, and acme's other callers got 503. Here one
 * address floods acme with a valid token's introspections while another asks for acme's client
 * credentials; addresses are told apart through a trusted proxy's X-Forwarded-For. Against the
 * real Keycloak.
 */
import assert from 'node:assert/strict';
import { ACME_ID, post, startBroker, type TestBroker } from '../helpers/broker.js';
import { ADMIN, KEYCLOAK2_URL, KEYCLOAK_URL } from '../helpers/services.js';

/** A small share for acme's server (2 in flight, 16 in line), so that one test process can fill it. */
const upstreams = [
  { name: 'server1', url: KEYCLOAK_URL, admin: { realm: 'master', ...ADMIN }, ignoreRealms: [], maxInFlightPerRealm: 2 },
  { name: 'server2', url: KEYCLOAK2_URL, admin: { realm: 'master', ...ADMIN }, ignoreRealms: [] },
];

describe('one address\'s part of a realm\'s share', function () {
  this.timeout(60_000);
  let broker: TestBroker;
  before(async () => { broker = await startBroker({ env: { TRUST_PROXY: '1' }, overrides: { upstreams } }); });
  after(() => broker?.close());

  it('a flood of a valid token\'s introspections from one address: another address\'s grants are all served', async () => {
    const grant = (address: string) => post(`${broker.url}/auth/api/v1/oauth/connect/token`,
      { client_id: 'connect-demo', client_secret: 'connect-demo-secret', realm: ACME_ID }, { headers: { 'x-forwarded-for': address } });
    const token = (await grant('10.2.0.9')).body.access_token as string;
    const introspect = () => post(`${broker.url}/auth/api/v1/oauth/connect/introspect`, { token, realm: ACME_ID }, { headers: { 'x-forwarded-for': '10.2.0.1' } });
    const { slots } = broker.deps.upstreams.get('server1');
    const until = Date.now() + 3000;
    const flood: Record<number, number> = {};
    const workers = Array.from({ length: 60 }, async () => {
      while (Date.now() < until) {
        const { status } = await introspect();
        flood[status] = (flood[status] ?? 0) + 1;
      }
    });
    const served: number[] = [];
    await new Promise((r) => setTimeout(r, 300)); // the flood under way
    while (Date.now() < until - 300) served.push((await grant('10.2.0.2')).status);
    await Promise.all(workers);
    assert.ok(flood[200]! > 0 && flood[503]! > 0, `the flood was served its part, and refused past it: ${JSON.stringify(flood)}`);
    assert.equal(slots.inFlight('acme'), 0, 'every slot given back');
    assert.ok(served.length > 0);
    assert.deepEqual(new Set(served), new Set([200]), `the other address: ${served.join()}`);
  });
});
