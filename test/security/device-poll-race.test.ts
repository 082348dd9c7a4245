/**
 * Issue 8, defect 11 (last part): a `slow_down` poll must not write back a stale copy of
 * the device grant, undoing an approval that lands between its read and its write. The
 * store below lands an approval exactly there (inside the poll's pacing check).
 */
import assert from 'node:assert/strict';
import { deviceOverrides, post, startBroker, type TestBroker } from '../helpers/broker.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { records } from '../../src/surfaces/platform/transactions.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

class ApprovingStore extends MemoryStore {
  approveOnNextPacingCheck?: string;
  override async putIfAbsent<T>(key: string, value: T, ttl: number): Promise<boolean> {
    const code = this.approveOnNextPacingCheck;
    if (code && key === records.devicePoll.key(code)) {
      this.approveOnNextPacingCheck = undefined;
      // As answerDevice writes an approval: the answer with its tokens, and the grant's status.
      const grant = (await this.get<Record<string, unknown>>(records.device.key(code)))!;
      await this.put(records.deviceAnswer.key(code), { ...grant, status: 'approved', tenant: 'acme', tokens: { access_token: 'at', token_type: 'Bearer' } }, 600);
      await this.put(records.device.key(code), { ...grant, status: 'approved' }, 600);
    }
    return super.putIfAbsent(key, value, ttl);
  }
}

describe('device polling and approval race', () => {
  let broker: TestBroker;
  const store = new ApprovingStore();
  before(async () => { broker = await startBroker({ store, overrides: deviceOverrides() }); });
  after(() => broker.close());

  it('an approval that lands during a too-fast poll is kept', async () => {
    const oauth = `${broker.url}/api/v1/platform/oauth`;
    const d = (await post(`${oauth}/device/authorize`, { client_id: 'tv-demo' })).body;
    const poll = () => post(`${oauth}/token`, { grant_type: DEVICE_GRANT, client_id: 'tv-demo', device_code: d.device_code });
    assert.equal((await poll()).body.error, 'authorization_pending');
    store.approveOnNextPacingCheck = d.device_code;
    assert.equal((await poll()).body.error, 'slow_down');
    const grant = await store.get<{ status: string }>(records.device.key(d.device_code));
    assert.equal(grant?.status, 'approved', 'the poll did not write the pending copy back');
    assert.equal((await store.get<{ status: string }>(records.deviceAnswer.key(d.device_code)))?.status, 'approved');
  });
});
