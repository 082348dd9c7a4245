/**
 * The shared store as a dry run sees it: every read goes to it, and every write stays in this
 * process, read back as if written. A `migrate --dry-run` runs the real code up to the switch,
 * and the tenant registry that code consults records where tenants stand as it lists them: the
 * dry run wrote `tenancy:standing` into the brokers' Redis, for ten years (attack helper round
 * 28). Through this view it changes nothing there.
 */
import { MemoryStore } from './memory-store.js';
import type { Store } from './store.js';

export class DryRunStore implements Store {
  private readonly written = new MemoryStore();
  private readonly deleted = new Set<string>();

  /** `shared`: the store behind, for a command's one deliberate write after its checks. */
  constructor(readonly shared: Store) {}

  get kind(): Store['kind'] {
    return this.shared.kind;
  }

  async get<T>(key: string): Promise<T | undefined> {
    const own = await this.written.get<T>(key);
    if (own !== undefined || this.deleted.has(key)) return own;
    return this.shared.get<T>(key);
  }

  async put<T>(key: string, value: T, ttlSeconds: number): Promise<void> {
    this.deleted.delete(key);
    await this.written.put(key, value, ttlSeconds);
  }

  async putIfAbsent<T>(key: string, value: T, ttlSeconds: number): Promise<boolean> {
    if ((await this.get(key)) !== undefined) return false;
    await this.put(key, value, ttlSeconds);
    return true;
  }

  async replace<T>(key: string, value: T): Promise<boolean> {
    const ttl = await this.ttl(key);
    if (ttl === undefined) return false;
    await this.put(key, value, ttl);
    return true;
  }

  async take<T>(key: string): Promise<T | undefined> {
    const value = await this.get<T>(key);
    if (value !== undefined) await this.delete(key);
    return value;
  }

  async increment(key: string, ttlSeconds: number): Promise<number> {
    const next = ((await this.get<number>(key)) ?? 0) + 1;
    await this.put(key, next, (await this.ttl(key)) ?? ttlSeconds);
    return next;
  }

  async ttl(key: string): Promise<number | undefined> {
    const own = await this.written.ttl(key);
    if (own !== undefined || this.deleted.has(key)) return own;
    return this.shared.ttl(key);
  }

  async delete(key: string): Promise<void> {
    await this.written.delete(key);
    this.deleted.add(key);
  }

  ping(): Promise<void> {
    return this.shared.ping();
  }

  async close(): Promise<void> {
    await this.written.close();
    await this.shared.close();
  }
}
