/**
 * Calls kept past their callers' timeouts for their realm's slots (realm-slots.ts), when nothing
 * answers them (attack helper round 31: a proxy before Keycloak that took the requests and never
 * answered, its connections open; Keycloak answered its probe and listed its realms). Before,
 * acme's every call got 504 for as long as the connections stayed open, /readyz said OK and no
 * metric showed it. Now the held calls are counted (metric, /readyz), and an upstream's
 * `holdLimitMs` gives them up after that long. A fault server in front of the real Keycloak plays
 * the proxy.
 */
import assert from 'node:assert/strict';
import { ACME_ID, post, startBroker, type TestBroker } from '../helpers/broker.js';
import { FaultServer } from '../helpers/fault-server.js';
import { ADMIN, KEYCLOAK2_URL, KEYCLOAK_URL } from '../helpers/services.js';

const TOKEN_PATH = '/realms/acme/protocol/openid-connect/token';
const creds = { client_id: 'connect-demo', client_secret: 'connect-demo-secret', realm: ACME_ID };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('calls held for their realm\'s slots with no answer coming (attack helper round 31)', function () {
  this.timeout(30_000);
  let faults: FaultServer;
  let broker: TestBroker | undefined;
  /** A broker with acme's server behind the fault server, a share of 2, and `holdLimitMs`. */
  const start = (holdLimitMs?: number) => startBroker({
    env: { UPSTREAM_TIMEOUT_MS: '1000' },
    overrides: {
      upstreams: [
        { name: 'server1', url: faults.url, admin: { realm: 'master', ...ADMIN }, ignoreRealms: [], maxInFlightPerRealm: 2, ...(holdLimitMs ? { holdLimitMs } : {}) },
        { name: 'server2', url: KEYCLOAK2_URL, admin: { realm: 'master', ...ADMIN }, ignoreRealms: [] },
      ],
    },
  });
  const grant = () => post(`${broker!.url}/auth/api/v1/oauth/connect/token`, creds);
  const readyz = async () => (await fetch(`${broker!.url}/auth/api/v1/readyz`)).json();
  /** Fills acme's two slots with calls nobody answers: two 504s. */
  const fill = async () => {
    assert.equal((await grant()).status, 200, 'served before the fault');
    for (let i = 0; i < 2; i++) faults.arm('POST', TOKEN_PATH, { kind: 'delay', ms: 60_000 });
    const statuses = (await Promise.all([grant(), grant()])).map((r) => r.status);
    assert.deepEqual(statuses, [504, 504]);
  };

  beforeEach(async () => { faults = await new FaultServer(KEYCLOAK_URL).start(); });
  afterEach(async () => {
    await broker?.close();
    broker = undefined;
    await faults.close();
  });

  it('without a hold limit: kept until answered, and shown (metric, /readyz DEGRADED)', async () => {
    broker = await start();
    await fill();
    const { slots } = broker.deps.upstreams.get('server1');
    assert.equal(slots.inFlight('acme'), 2);
    assert.deepEqual(slots.heldRealms(), ['acme']);
    const metrics = await broker.deps.metrics!.registry.metrics();
    assert.match(metrics, /realm_broker_upstream_realm_held_calls\{upstream="server1",realm="acme"\} 2/);
    await sleep(1100); // the readiness answer is reused for a second
    const body = await readyz();
    assert.equal(body.msg, 'DEGRADED', JSON.stringify(body));
    assert.match(body.checks['held:server1'], /^1 realm with every call held/);
    assert.ok(!JSON.stringify(body).includes('acme'), 'no realm name on the public port');
    assert.equal((await grant()).status, 504, 'acme\'s next call waits in line for its deadline');
  });

  it('with holdLimitMs: given up after it, and acme is served again', async () => {
    broker = await start(1500);
    await fill();
    const { slots } = broker.deps.upstreams.get('server1');
    assert.equal(slots.inFlight('acme'), 2);
    await sleep(1800);
    assert.equal(slots.inFlight('acme'), 0, 'both given up 1,500 ms after their 504s');
    assert.equal((await grant()).status, 200);
    const metrics = await broker.deps.metrics!.registry.metrics();
    assert.match(metrics, /realm_broker_upstream_realm_held_calls\{upstream="server1",realm="acme"\} 0/);
    await sleep(1100);
    assert.equal((await readyz()).msg, 'OK');
  });
});
