/**
 * Limits on guessable things (passwords, user codes): failed attempts are counted in the
 * store, so every replica sees the same counts, in fixed windows. A key over its limit is
 * refused with 429 and Retry-After before anything is sent upstream.
 */
import { createHash } from 'node:crypto';
import { BrokerError } from '../errors.js';
import type { Store } from '../store/store.js';

export interface LimitKey {
  key: string;
  max: number;
}

/** Keys carry no personal data: usernames and addresses are hashed. */
export function limitKey(scope: string, value: string): string {
  return `rl:${scope}:${createHash('sha256').update(value.toLowerCase()).digest('base64url').slice(0, 22)}`;
}

export async function assertUnderLimit(store: Store, keys: LimitKey[], what: string): Promise<void> {
  const counts = await Promise.all(keys.map((k) => store.get<number>(k.key)));
  const over = keys.filter((k, i) => (counts[i] ?? 0) >= k.max);
  if (over.length === 0) return;
  const waits = await Promise.all(over.map((k) => store.ttl(k.key)));
  const retryAfter = Math.max(1, ...waits.map((w) => w ?? 1));
  throw new BrokerError('rate_limited', `Too many failed ${what}; try again in ${retryAfter} s`, { retryAfter });
}

export async function recordFailure(store: Store, keys: LimitKey[], windowSeconds: number): Promise<void> {
  await Promise.all(keys.map((k) => store.increment(k.key, windowSeconds)));
}
