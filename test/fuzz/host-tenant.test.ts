/**
 * Fuzz, ScaiWave tenant by Host: a Host the config does not map is served by the default
 * tenant, exactly as a request with the broker's own address (README: X-Tenant, else the
 * Host's mapping, else the default tenant). Host names are random domains, with ports, and
 * the names every plain object answers to (`constructor`, `__proto__`), which a lookup in
 * a plain object would take for mapped hosts.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { send } from './send.js';
import { PROTO_NAMES } from './values.js';

describe('Fuzz: ScaiWave tenant by Host', function () {
  this.timeout(0);
  let broker: TestBroker;
  let defaultIssuer: string;
  before(async () => {
    broker = await startBroker();
    const own = await send(broker.url, { route: 'scaiwave config', method: 'GET', path: '/v1/auth/config', query: '', headers: {}, body: { kind: 'none' } });
    defaultIssuer = JSON.parse(own.text).data.issuer;
  });
  after(() => broker.close());

  it('serves an unmapped Host with the default tenant', async () => {
    const mapped = new Set(Object.keys(broker.deps.config.scaiwave.hosts).map((h) => h.toLowerCase()));
    const host = fc.tuple(
      fc.oneof(fc.constantFrom(...PROTO_NAMES, 'CONSTRUCTOR', '__PROTO__', 'valueof'), fc.domain()),
      fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    ).filter(([name]) => !mapped.has(name.toLowerCase())).map(([name, port]) => (port ? `${name}:${port}` : name));
    await fc.assert(fc.asyncProperty(host, async (h) => {
      const answer = await send(broker.url, { route: 'scaiwave config', method: 'GET', path: '/v1/auth/config', query: '', headers: { host: h }, body: { kind: 'none' } });
      assert.equal(answer.status, 200, `Host ${h}: ${answer.status} ${answer.text}`);
      assert.equal(JSON.parse(answer.text).data.issuer, defaultIssuer, `Host ${h} served another tenant`);
    }), { numRuns: 60 });
  });
});
