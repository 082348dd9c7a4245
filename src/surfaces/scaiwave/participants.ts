/**
 * Participants: the local record of a principal `(tenant, sub)`.
 *
 * Ids are derived, not drawn: participant_id and personal_workspace_id are name-based
 * UUIDs (RFC 9562 v5) of the tenant slug and the subject. Twenty concurrent first calls,
 * two replicas, a restart, or a lost store all yield the same ids without coordination.
 * The record (display name, email) lives in the store and is refreshed from each token.
 */
import { createHash } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { BrokerError } from '../../errors.js';
import type { Store } from '../../store/store.js';
import type { Tenant } from '../../tenancy/tenant.js';

export interface Participant {
  participant_id: string;
  tenant_id: string;
  display_name: string | null;
  email: string | null;
  personal_workspace_id: string;
}

/** realm-broker's namespace for participant UUIDs (a random v4, fixed forever). */
const NAMESPACE = Buffer.from('6f1c5bd2a0e84a4f9a1f3c7e2d9b8a61', 'hex');
const RECORD_TTL_SECONDS = 400 * 24 * 3600; // refreshed on every registration

function uuidV5(name: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

export async function registerParticipant(store: Store, tenant: Tenant, claims: JWTPayload): Promise<Participant> {
  const sub = claims.sub!;
  const key = `participant:${tenant.slug}:${sub}`;
  const existing = await store.get<Participant>(key);
  // The ids come from the slug, which a realm of another id can come to have (a tenant found by
  // its realm's name: the realm renamed or gone, another named so): that realm's user with the
  // same `sub` (ids are unique per server only) took the participant over (attack round 50). A
  // record is its realm's, or one the tenant moved from.
  if (existing && existing.tenant_id.toLowerCase() !== tenant.id.toLowerCase() && !tenant.aliasIds.some((id) => id.toLowerCase() === existing.tenant_id.toLowerCase())) {
    throw new BrokerError('access_denied', 'This account is registered as a participant of another organisation under this name');
  }
  const participant: Participant = {
    participant_id: uuidV5(`participant\n${tenant.slug}\n${sub}`),
    tenant_id: tenant.id,
    display_name: str(claims.name) ?? str(claims.preferred_username) ?? existing?.display_name ?? null,
    email: str(claims.email) ?? existing?.email ?? null,
    personal_workspace_id: `ws-${uuidV5(`workspace\n${tenant.slug}\n${sub}`)}`,
  };
  await store.put(key, participant, RECORD_TTL_SECONDS);
  return participant;
}
