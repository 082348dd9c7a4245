/**
 * Issue 10: Prometheus metrics on the management listener move with real traffic, and no
 * label carries user input, a token or an email.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { buildManagementApp } from '../../src/metrics/management.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { post, startBroker, type TestBroker } from '../helpers/broker.js';

/** Sums the samples of `name` whose labels include every pair of `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

describe('metrics on the management listener', function () {
  this.timeout(60_000);
  let broker: TestBroker;
  let management: Server;
  let scrape: () => Promise<string>;
  before(async () => {
    broker = await startBroker({ overrides: { scaiwave: { hosts: {}, tenantHeader: 'x-tenant', redirectUris: {}, rateLimit: { perUser: 2, perAddress: 1000, windowSeconds: 60 } } } });
    management = buildManagementApp(broker.deps).listen(0, '127.0.0.1');
    await new Promise((r) => management.once('listening', r));
    const url = `http://127.0.0.1:${(management.address() as AddressInfo).port}`;
    scrape = async () => (await fetch(`${url}/metrics`)).text();
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
  });
  after(async () => {
    management.close();
    await broker.close();
  });

  it('requests, upstream calls, store, limits, registry and caches all move', async () => {
    const before = await scrape();
    const token = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, { client_id: 'connect-demo', client_secret: 'connect-demo-secret' });
    assert.equal(token.status, 200);
    const user = `nobody-${randomUUID()}@acme.example`;
    for (let i = 0; i < 3; i++) await post(`${broker.url}/v1/auth/token`, { username: user, password: 'wrong' });
    await fetch(`${broker.url}/api/v1/platform/oauth/.well-known/openid-configuration`);
    await fetch(`${broker.url}/no/such/path?email=someone@example.com`);
    const after = await scrape();

    const http = 'realm_broker_http_request_duration_seconds_count';
    const route = { surface: 'connect', route: '/auth/api/v1/oauth/connect/token', status_class: '2xx' };
    assert.equal(sample(after, http, route) - sample(before, http, route), 1);
    assert.ok(sample(after, http, { surface: 'scaiwave', status_class: '4xx' }) >= 3);
    assert.ok(sample(after, http, { route: '(unmatched)' }) >= 1);
    const up = 'realm_broker_upstream_request_duration_seconds_count';
    assert.ok(sample(after, up, { operation: 'client credentials grant', outcome: 'ok', realm: 'acme', upstream: 'server1' }) >= 1);
    assert.ok(sample(after, up, { operation: 'password grant', outcome: 'invalid_grant' }) >= 2);
    assert.ok(sample(after, 'realm_broker_store_operation_duration_seconds_count', { backend: 'memory' }) >= 0);
    assert.ok(sample(after, 'realm_broker_rate_limit_rejections_total', { limit: 'pw-user' }) >= 1);
    assert.ok(sample(after, 'realm_broker_tenant_registry_refreshes_total', { outcome: 'ok' }) >= 1);
    assert.ok(sample(after, 'realm_broker_cache_lookups_total', { cache: 'tenants', result: 'hit' }) >= 1);
    assert.ok(sample(after, 'realm_broker_cache_lookups_total', { cache: 'realm_metadata' }) >= 1);
    assert.ok(sample(after, 'realm_broker_process_cpu_user_seconds_total') > 0, 'Node\'s default metrics');

    const labels = after.split('\n').filter((l) => l.includes('{'));
    assert.ok(!labels.some((l) => /@|eyJ|nobody-|\/no\/such/.test(l)), 'no email, token or raw path in a label');
  });

  it('the event-loop delay reads the delay, not the interval it is sampled at', async () => {
    // Node's histogram records the whole interval between samples: sampled every 100 ms, an
    // idle broker's delay would read 100 ms (min and p50 alike). Samples since the last scrape.
    await scrape();
    await new Promise((r) => setTimeout(r, 300));
    const min = sample(await scrape(), 'realm_broker_nodejs_eventloop_lag_min_seconds');
    assert.ok(min > 0 && min < 0.05, `min event-loop delay ${min} s`);
  });

  it('counts store operations and their errors', async () => {
    await post(`${broker.url}/api/v1/platform/oauth/device/authorize`, { client_id: 'tv-demo' });
    const text = await scrape();
    assert.ok(sample(text, 'realm_broker_store_operation_duration_seconds_count', { backend: 'memory', operation: 'put' }) >= 1);
  });

  it('counts cache lookups exactly, however often and whenever it is scraped (tallied between scrapes)', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const lookups = async (result: string) => sample(await metrics.registry.metrics(), 'realm_broker_cache_lookups_total', { cache: 'tenants', result });
    metrics.cache('tenants', true);
    metrics.cache('tenants', true);
    metrics.cache('tenants', false);
    assert.equal(await lookups('hit'), 2);
    assert.equal(await lookups('hit'), 2, 'a second scrape adds nothing');
    metrics.cache('tenants', true);
    assert.equal(await lookups('hit'), 3);
    assert.equal(await lookups('miss'), 1);
  });
});
