/**
 * The broker's own signing keys, for the ID tokens (and logout hints) it issues as the
 * platform and tenant issuers (DESIGN decision 3).
 *
 * Where they come from:
 * - `BROKER_SIGNING_JWK` (a private RS256 JWK) when set: one fixed key, rotated by
 *   changing the setting;
 * - otherwise a key set shared by every replica through the store. Private keys are
 *   stored **encrypted** (compact JWE, `dir` + A256GCM) with `BROKER_KEY_ENCRYPTION_KEY`;
 *   production refuses to start without one of the two settings (config/load.ts), and dev
 *   mode without a key stores them in the clear, saying so at start.
 *
 * Rotation (`realm-broker keys rotate`): the new key is published at once and signs only
 * after `publishSeconds` (longer than the JWKS cache lifetime, so every RP has it before
 * it sees a token signed with it); the old key stays published until the last ID token it
 * signed has expired. Replicas re-read the set every REFRESH_MS.
 */
import * as jose from 'jose';
import type { Store } from '../store/store.js';
import { RecordKind } from '../store/record.js';

export interface SigningKey {
  kid: string;
  alg: 'RS256';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: jose.JWK;
}

/** One key of the shared set, as stored. */
interface StoredKey {
  kid: string;
  /** The private JWK, encrypted (compact JWE) — or `jwk` in dev mode without an encryption key. */
  jwe?: string;
  jwk?: jose.JWK;
  createdAt: number;
  /** Signs from then on (ms). */
  activeFrom: number;
  /** Unpublished from then on (ms); set when a newer key takes over. */
  retireAt?: number;
}

interface KeySet {
  keys: StoredKey[];
}

const TEN_YEARS = 10 * 365 * 24 * 3600;
const keySets = new RecordKind<KeySet>('keys', TEN_YEARS);
const SET_ID = 'signing-set';
/** Before key sets: one plaintext key. Read once to carry it over, then removed. */
const legacyKey = new RecordKind<jose.JWK>('keys', TEN_YEARS);
const LEGACY_ID = 'signing';
const REFRESH_MS = 30_000;

export interface SigningKeyOptions {
  /** A private JWK (JSON) from config: the one key, no rotation through the store. */
  configured?: string;
  /** base64url of 32 bytes: encrypts the private keys kept in the store. */
  encryptionKey?: string;
  /** How long a new key is published before it signs. */
  publishSeconds: number;
  /** The ID tokens' lifetime: how long a key stays published after it stops signing. */
  idTokenTtlSeconds: number;
}

/** A key's kid: its own, else its RFC 7638 thumbprint. */
const kidOf = async (jwk: jose.JWK) => jwk.kid ?? (await jose.calculateJwkThumbprint({ kty: jwk.kty!, n: jwk.n!, e: jwk.e! }));

async function fromJwk(jwk: jose.JWK): Promise<SigningKey> {
  const privateKey = (await jose.importJWK(jwk, 'RS256')) as CryptoKey;
  const kid = await kidOf(jwk);
  const publicJwk = { kty: jwk.kty, n: jwk.n, e: jwk.e, kid, alg: 'RS256', use: 'sig' } as jose.JWK;
  const publicKey = (await jose.importJWK(publicJwk, 'RS256')) as CryptoKey;
  return { kid, alg: 'RS256', privateKey, publicKey, publicJwk };
}

/** What a load of the key set yields; `jwks` is one array per load (answers are prepared once per array). */
interface KeyState {
  at: number;
  current: SigningKey;
  published: SigningKey[];
  jwks: jose.JWK[];
}

export class SigningKeys {
  private loaded?: Promise<KeyState>;
  private readonly kek?: Uint8Array;
  /** The set last read: put back if the store lost it (a flushed or evicting store), never replaced by a new key. */
  private lastSet?: KeySet;

  constructor(private readonly store: Store, private readonly options: SigningKeyOptions) {
    if (options.encryptionKey) this.kek = Buffer.from(options.encryptionKey, 'base64url');
  }

  /** True when private keys would be stored unencrypted (dev mode only; said at start). */
  get storesPlaintext(): boolean {
    return !this.options.configured && !this.kek;
  }

  /** The key that signs now. */
  async get(): Promise<SigningKey> {
    return (await this.state()).current;
  }

  /** The public JWKs the issuers publish: the signing key, the next one, the recent ones. */
  async published(): Promise<jose.JWK[]> {
    return (await this.state()).jwks;
  }

  /** The public key of a published `kid` (to check a token the broker signed, e.g. a logout hint). */
  async verificationKey(kid: string | undefined): Promise<CryptoKey | undefined> {
    const { published } = await this.state();
    return published.find((k) => k.kid === kid)?.publicKey;
  }

  private state(): Promise<KeyState> {
    const fresh = this.loaded;
    if (fresh) {
      return fresh.then((s) => {
        if (Date.now() - s.at < REFRESH_MS) return s;
        if (this.loaded === fresh) this.loaded = undefined;
        return this.state();
      });
    }
    const loading = this.load().catch((err) => {
      if (this.loaded === loading) this.loaded = undefined; // a store outage must not poison the keys
      throw err;
    });
    this.loaded = loading;
    return loading;
  }

  private async load(): Promise<KeyState> {
    if (this.options.configured) {
      const key = await fromJwk(JSON.parse(this.options.configured) as jose.JWK);
      return { at: Date.now(), current: key, published: [key], jwks: [key.publicJwk] };
    }
    let set = await keySets.get(this.store, SET_ID);
    if (!set && this.lastSet) {
      await keySets.putIfAbsent(this.store, SET_ID, this.lastSet);
      set = await keySets.get(this.store, SET_ID);
    }
    set ??= await this.createSet();
    this.lastSet = set;
    const now = Date.now();
    const live = set.keys.filter((k) => !k.retireAt || k.retireAt > now);
    const signing = live.filter((k) => k.activeFrom <= now).sort((a, b) => b.activeFrom - a.activeFrom)[0];
    if (!signing) throw new Error('no signing key is active (the key set in the store is damaged)');
    const published = await Promise.all(live.map((k) => this.open(k)));
    return { at: now, current: published[live.indexOf(signing)]!, published, jwks: published.map((k) => k.publicJwk) };
  }

  /** The first key (or the legacy plaintext one), written once even when replicas start together. */
  private async createSet(): Promise<KeySet> {
    const legacy = await legacyKey.get(this.store, LEGACY_ID);
    const first = legacy ? await this.seal(legacy, 0) : await this.newKey(0);
    await keySets.putIfAbsent(this.store, SET_ID, { keys: [first] });
    if (legacy) await legacyKey.delete(this.store, LEGACY_ID);
    return (await keySets.get(this.store, SET_ID))!;
  }

  private async newKey(activeFrom: number): Promise<StoredKey> {
    const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
    const jwk = await jose.exportJWK(privateKey);
    jwk.kid = await jose.calculateJwkThumbprint({ kty: jwk.kty!, n: jwk.n!, e: jwk.e! });
    return this.seal(jwk, activeFrom);
  }

  private async seal(jwk: jose.JWK, activeFrom: number): Promise<StoredKey> {
    const kid = await kidOf(jwk);
    const base = { kid, createdAt: Date.now(), activeFrom };
    if (!this.kek) return { ...base, jwk: { ...jwk, kid } };
    const jwe = await new jose.CompactEncrypt(new TextEncoder().encode(JSON.stringify({ ...jwk, kid })))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cty: 'jwk+json' })
      .encrypt(this.kek);
    return { ...base, jwe };
  }

  private async open(k: StoredKey): Promise<SigningKey> {
    if (k.jwk) return fromJwk(k.jwk);
    if (!this.kek) throw new Error(`signing key ${k.kid} is encrypted and BROKER_KEY_ENCRYPTION_KEY is not set`);
    const { plaintext } = await jose.compactDecrypt(k.jwe!, this.kek);
    return fromJwk(JSON.parse(new TextDecoder().decode(plaintext)) as jose.JWK);
  }

  /**
   * Adds a key that signs after `publishSeconds`, and schedules the current one to be
   * unpublished once its last ID token has expired. Keys past their retirement are dropped.
   */
  async rotate(): Promise<{ newKid: string; activeFrom: Date; retiring: { kid: string; retireAt: Date }[] }> {
    if (this.options.configured) throw new Error('the signing key comes from BROKER_SIGNING_JWK: rotate it by changing that setting');
    const set = (await keySets.get(this.store, SET_ID)) ?? (await this.createSet());
    const now = Date.now();
    const next = await this.newKey(now + this.options.publishSeconds * 1000);
    const retireAt = next.activeFrom + (this.options.idTokenTtlSeconds + 60) * 1000;
    const keys = set.keys
      .filter((k) => !k.retireAt || k.retireAt > now)
      .map((k) => (k.retireAt ? k : { ...k, retireAt }));
    await keySets.put(this.store, SET_ID, { keys: [...keys, next] });
    this.loaded = undefined;
    return {
      newKid: next.kid,
      activeFrom: new Date(next.activeFrom),
      retiring: keys.map((k) => ({ kid: k.kid, retireAt: new Date(k.retireAt!) })),
    };
  }

  /**
   * What the set holds now, for `keys list`: read only. It made the first key when there was
   * none (attack helper round 27, L5: a listing wrote a key, in dev mode a plaintext one);
   * an empty store lists nothing, and a key written by a version before key sets shows as it is.
   */
  async list(): Promise<{ kid: string; activeFrom: Date; retireAt?: Date; encrypted: boolean }[]> {
    if (this.options.configured) {
      const k = await this.get();
      return [{ kid: k.kid, activeFrom: new Date(0), encrypted: false }];
    }
    const set = await keySets.get(this.store, SET_ID);
    if (!set) {
      const legacy = await legacyKey.get(this.store, LEGACY_ID);
      return legacy ? [{ kid: await kidOf(legacy), activeFrom: new Date(0), encrypted: false }] : [];
    }
    return set.keys.map((k) => ({ kid: k.kid, activeFrom: new Date(k.activeFrom), retireAt: k.retireAt ? new Date(k.retireAt) : undefined, encrypted: !!k.jwe }));
  }
}
