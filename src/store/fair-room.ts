/**
 * The memory store's room for what strangers can make (keys under PENDING_PREFIX: sign-ins
 * started, pushed requests, device codes), shared fairly between the client addresses that
 * made it.
 *
 * Each entry is charged to the address of the request that wrote it. When the room is full it
 * is brought down to nine tenths by taking entries, oldest first, from the addresses that hold
 * the most, down to one level for all of them ("water-filling"); an address holding less than
 * that level loses nothing. A least-recently-used room evicted everyone's oldest entries: about
 * 300 addresses filled it in 6.5 s, and every sign-in, device code and pushed request in
 * progress was gone (attack helper round 26). Now a flood evicts its own entries first, and
 * reaches a person's single sign-in only when it comes from about as many addresses as the
 * room holds sign-ins.
 *
 * An entry costs its length in characters (key and value), and at least the room's characters
 * divided by its entries, so that one bound keeps both: at most `chars` characters and at most
 * `entries` entries.
 */

interface Entry {
  value: string;
  expiresAt: number;
  owner: string;
  cost: number;
}

interface Holding {
  cost: number;
  /** The owner's keys, oldest first (a Set keeps insertion order). */
  keys: Set<string>;
}

/** What the room is brought down to when full: room for a burst before the next levelling. */
const LEVEL_TO = 0.9;

export class FairRoom {
  private readonly entries = new Map<string, Entry>();
  private readonly holdings = new Map<string, Holding>();
  private total = 0;
  private readonly minCost: number;

  constructor(private readonly maxCost: number, maxEntries: number, private readonly ownerOf: () => string) {
    this.minCost = Math.max(1, Math.ceil(maxCost / maxEntries));
  }

  /** Characters held, each entry counted at least at its minimum cost. */
  get calculatedSize(): number {
    return this.total;
  }

  get(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.remove(key);
      return undefined;
    }
    return entry.value;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Milliseconds left (0 when absent). */
  getRemainingTTL(key: string): number {
    return this.has(key) ? this.entries.get(key)!.expiresAt - Date.now() : 0;
  }

  set(key: string, value: string, options: { ttl: number }): void {
    this.remove(key);
    const owner = this.ownerOf();
    const cost = Math.max(this.minCost, key.length + value.length);
    this.entries.set(key, { value, expiresAt: Date.now() + options.ttl, owner, cost });
    const holding = this.holdings.get(owner) ?? { cost: 0, keys: new Set<string>() };
    holding.cost += cost;
    holding.keys.add(key);
    this.holdings.set(owner, holding);
    this.total += cost;
    if (this.total > this.maxCost) this.level();
  }

  delete(key: string): void {
    this.remove(key);
  }

  purgeStale(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.remove(key);
  }

  clear(): void {
    this.entries.clear();
    this.holdings.clear();
    this.total = 0;
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.total -= entry.cost;
    const holding = this.holdings.get(entry.owner)!;
    holding.cost -= entry.cost;
    holding.keys.delete(key);
    if (holding.keys.size === 0) this.holdings.delete(entry.owner);
  }

  /** Brings the room down to LEVEL_TO of its bound, taking from the largest holdings first. */
  private level(): void {
    this.purgeStale();
    const target = this.maxCost * LEVEL_TO;
    if (this.total <= target) return;
    // The level L with the k largest holdings cut to L and the rest as they are, such that
    // they sum to the target: the smallest k for which L is still above the next holding.
    const largestFirst = [...this.holdings.values()].sort((a, b) => b.cost - a.cost);
    let below = this.total;
    let level = 0;
    for (let k = 1; k <= largestFirst.length; k++) {
      below -= largestFirst[k - 1]!.cost;
      const candidate = (target - below) / k;
      if (candidate >= (largestFirst[k]?.cost ?? 0)) {
        level = Math.max(0, candidate);
        break;
      }
    }
    // Entries are whole: cutting every holding above L to L or below takes more than needed,
    // all of it when the holdings are single entries above L (as many owners as entries: the
    // whole room went at once, round 28). So the largest go first, and it stops at the target.
    for (const holding of largestFirst) {
      for (const key of holding.keys) {
        if (holding.cost <= level || this.total <= target) break;
        this.remove(key);
      }
      if (this.total <= target) return;
    }
  }
}
