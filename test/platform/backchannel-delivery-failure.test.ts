/**
 * A logout whose back-channel deliveries fail before any is sent (the signing key unreadable:
 * the store down a moment) is counted and logged, and ends nothing else. Before (review of
 * 2026-12-07): the deliveries ran in the background with the key read outside any handler, so
 * the rejection went unhandled, and Node ends the process on one: every request in flight, and
 * with the memory store every session, gone with it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import demo from '../../demo.config.json' with { type: 'json' };
import { endSsoSession } from '../../src/surfaces/platform/session-end.js';
import { records } from '../../src/surfaces/platform/transactions.js';
import { ACME_ID, startBroker, type TestBroker } from '../helpers/broker.js';

describe('back-channel logout deliveries that fail before they are sent', () => {
  let broker: TestBroker;
  const unheard: unknown[] = [];
  const listen = (reason: unknown) => { unheard.push(reason); };

  before(async () => {
    const apps = { ...demo.apps, 'platform-demo': { ...demo.apps['platform-demo'], backchannelLogoutUri: 'http://127.0.0.1:9/web' } };
    broker = await startBroker({ overrides: { apps } });
    process.prependListener('unhandledRejection', listen);
  });
  after(async () => {
    process.removeListener('unhandledRejection', listen);
    await broker?.close();
  });

  it('are counted as failed, and no rejection goes unhandled', async () => {
    const { deps } = broker;
    const failedBefore = (await deps.metrics.backchannelDeliveries.get()).values.find((v) => v.labels.outcome === 'failed')?.value ?? 0;
    deps.signingKeys.get = () => Promise.reject(new Error('the store is down'));
    const id = randomUUID();
    await records.sso.put(deps.store, id, {
      tenant: 'acme', tenantId: ACME_ID, sub: randomUUID(), realmSessionId: randomUUID(),
      clients: [{ clientId: 'platform-demo', issuer: `${broker.url}/api/v1/platform/oauth` }],
    });
    assert.ok(await endSsoSession(deps, id, { endRealmSession: false }), 'the session ended');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(unheard, [], 'a rejection went unhandled');
    const failed = (await deps.metrics.backchannelDeliveries.get()).values.find((v) => v.labels.outcome === 'failed')?.value ?? 0;
    assert.equal(failed - failedBefore, 1);
  });
});
