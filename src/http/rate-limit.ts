/**
 * Limits on guessable or costly things (passwords, user codes, email discovery, sign-in
 * transactions), with rate-limiter-flexible: every attempt is **counted first, atomically,
 * then decided** (a Lua INCR+PEXPIRE in Redis, a synchronous map update in memory), so a
 * burst of parallel requests cannot all read "under the limit" before any of them counts.
 * A caller that succeeds may give its point back (`reward`) or clear the key (`reset`).
 *
 * Backends follow the store: Redis when the broker shares state across replicas, else
 * rate-limiter-flexible's own in-process map, which the memory store's LRU cannot evict
 * (a flood of sign-in transactions must not push the counters out).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { BrokerError } from '../errors.js';

export interface LimitRule {
  /** Names the counter family, e.g. `pw-user`; part of every key. */
  name: string;
  /** Attempts allowed per window. */
  points: number;
  windowSeconds: number;
  /** What is being limited, for the 429 message ("sign-in attempts"). */
  what: string;
}

/** Keys carry no personal data: usernames and addresses are hashed. */
export function hashed(value: string): string {
  return createHash('sha256').update(value.toLowerCase()).digest('base64url').slice(0, 22);
}

/**
 * One counted attempt: until when its window runs. A point given back after that would land in
 * the next window, below zero, and carry allowance over into it (attack helper round 24: a
 * counter left at -37 let 97 refusals through in the next window, for 60).
 */
export interface Counted {
  windowEndsAt: number;
}

export class Limiter {
  constructor(readonly rule: LimitRule, private readonly backend: RateLimiterAbstract, readonly onReject: () => void = () => {}) {}

  /**
   * Counts one attempt for `key` and throws 429 (with Retry-After) when that attempt is
   * over the limit. The count happens before the decision, in one atomic step. With `uncount`,
   * an attempt over the limit is not left counted (the store counts refused attempts too): for a
   * caller that waits and tries again (refusal-gate.ts), whose tries would otherwise add up.
   */
  async consume(key: string, o: { uncount?: boolean } = {}): Promise<Counted> {
    try {
      const res = await this.backend.consume(hashed(key), 1);
      return { windowEndsAt: Date.now() + res.msBeforeNext };
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw storeFailure(err);
      if (o.uncount) await this.reward(key, { windowEndsAt: Date.now() + err.msBeforeNext });
      this.onReject();
      const retryAfter = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      throw new BrokerError('rate_limited', `Too many ${this.rule.what}; try again in ${retryAfter} s`, { retryAfter });
    }
  }

  /**
   * Gives back the point of an attempt that turned out fine (a right password), in the window
   * that counted it: once that window has run out (or is about to), there is nothing to give back.
   */
  async reward(key: string, counted: Counted): Promise<void> {
    if (Date.now() >= counted.windowEndsAt - REWARD_MARGIN_MS) return;
    await this.call(() => this.backend.reward(hashed(key), 1));
  }

  /** Forgets every attempt for `key`. */
  async reset(key: string): Promise<void> {
    await this.call(() => this.backend.delete(hashed(key)));
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw storeFailure(err);
    }
  }
}

/** A point given back this close to its window's end could reach the store after the window. */
const REWARD_MARGIN_MS = 250;

function storeFailure(err: unknown): BrokerError {
  if (err instanceof BrokerError) return err;
  return new BrokerError('store_unavailable', 'The session store is unavailable', { cause: err, retryAfter: 2 });
}

/** Builds the limiters of one broker, on Redis (shared by replicas) or in process memory. */
export class RateLimits {
  private readonly limiters = new Map<string, Limiter>();

  constructor(private readonly backend: { redis?: Redis; prefix: string }, private readonly onReject: (limit: string) => void = () => {}) {}

  get(rule: LimitRule): Limiter {
    const id = `${rule.name}/${rule.points}/${rule.windowSeconds}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      const opts = { keyPrefix: `${this.backend.prefix}rl:${rule.name}`, points: rule.points, duration: rule.windowSeconds };
      const impl = this.backend.redis
        ? new RateLimiterRedis({ ...opts, storeClient: this.backend.redis, rejectIfRedisNotReady: true })
        : new RateLimiterMemory(opts);
      limiter = new Limiter(rule, impl, () => this.onReject(rule.name));
      this.limiters.set(id, limiter);
    }
    return limiter;
  }
}
