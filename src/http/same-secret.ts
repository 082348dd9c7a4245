import { hash, timingSafeEqual } from 'node:crypto';

// One-shot: no Hash object per check (half the cost of createHash().update().digest()).
const digest = (s: string) => hash('sha256', s, 'buffer');

/** Constant-time equality of two secrets: hashed first, so lengths leak nothing either. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * A secret the broker holds (an app's client secret, from the configuration), kept as its
 * digest: a check hashes only the presented secret, then compares as `sameSecret` does.
 */
export class KnownSecret {
  private readonly expected: Buffer;
  constructor(readonly secret: string) {
    this.expected = digest(secret);
  }

  matches(presented: string): boolean {
    return timingSafeEqual(digest(presented), this.expected);
  }
}

/** Constant-time equality of two MACs of one fixed length (their length is no secret). */
export function sameMac(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
