/**
 * A lease on a store key: one holder at a time (the first `putIfAbsent`), renewed while held
 * so that a long holder does not lose it to its TTL, and released only by its holder. Two
 * migrations rewrite the homes record (read, changed, written whole): with a fixed hour's TTL
 * and an unconditional delete, a run past the hour lost the lock to a second run, and then
 * deleted that run's lock as it ended (review, 2026-12-07). A holder that dies frees the key
 * after `ttlSeconds`.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from './store.js';

export interface Lease {
  /** Stops renewing and deletes the key when it is still this lease's. */
  release(): Promise<void>;
}

interface Held<T> {
  lease: string;
  holder: T;
}

/** The lease of `key`, or undefined with the current holder's record when another holds it. */
export async function takeLease<T>(store: Store, key: string, holder: T, ttlSeconds: number, renewMs = ttlSeconds * 1000 / 3): Promise<{ lease: Lease } | { heldBy: T | undefined }> {
  const mine: Held<T> = { lease: randomUUID(), holder };
  if (!(await store.putIfAbsent(key, mine, ttlSeconds))) {
    return { heldBy: (await store.get<Held<T>>(key))?.holder };
  }
  const ours = async () => (await store.get<Held<T>>(key))?.lease === mine.lease;
  const timer = setInterval(() => {
    // A renewal that fails (the store down a moment) is tried again at the next tick.
    void ours().then((yes) => (yes ? store.put(key, mine, ttlSeconds) : undefined)).catch(() => {});
  }, renewMs);
  timer.unref();
  return {
    lease: {
      async release() {
        clearInterval(timer);
        if (await ours()) await store.delete(key);
      },
    },
  };
}
