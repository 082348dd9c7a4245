/**
 * ScaiWave participants (`/v1/auth/register`): ids from the tenant's slug and the subject, and a
 * record that stays its realm's (attack round 50: a realm of another id that came to have the
 * slug, its user given the same `sub`, took the participant over).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { BrokerError } from '../../src/errors.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { registerParticipant } from '../../src/surfaces/scaiwave/participants.js';
import type { Tenant } from '../../src/tenancy/tenant.js';

describe('ScaiWave participants', () => {
  const store = new MemoryStore();
  after(() => store.close());
  const tenant = (id: string, aliasIds: string[] = []) => ({ slug: 'acme-like', id, aliasIds }) as unknown as Tenant;

  it('are their realm\'s: another realm under the slug gets no participant of the first, the realm moved to gets them', async () => {
    const sub = randomUUID();
    const [first, other, movedTo] = [randomUUID(), randomUUID(), randomUUID()];
    const mine = await registerParticipant(store, tenant(first), { sub, name: 'Ursula' });
    assert.equal((await registerParticipant(store, tenant(first.toUpperCase()), { sub })).participant_id, mine.participant_id, 'the same, again');
    await assert.rejects(registerParticipant(store, tenant(other), { sub, name: 'Taken over' }),
      (e: unknown) => e instanceof BrokerError && e.code === 'access_denied');
    const kept = await registerParticipant(store, tenant(first), { sub });
    assert.equal(kept.display_name, 'Ursula', 'the record was not overwritten');
    // A tenant moved onto a realm of another id (its old id an alias) keeps its participants.
    const moved = await registerParticipant(store, tenant(movedTo, [first]), { sub });
    assert.equal(moved.participant_id, mine.participant_id);
    assert.equal(moved.tenant_id, movedTo);
  });
});
