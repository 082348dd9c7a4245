/**
 * The broker's own signing key, for the ID tokens it issues as the platform (and
 * tenant-level) issuer (DESIGN decision 3). Every replica must sign with the same key
 * and publish it: it comes from BROKER_SIGNING_JWK when set, otherwise the first replica
 * generates one and shares it through the store (putIfAbsent, so two starting replicas
 * cannot disagree).
 */
import * as jose from 'jose';
import type { Store } from '../store/store.js';

export interface SigningKey {
  kid: string;
  alg: 'RS256';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: jose.JWK;
}

const STORE_KEY = 'keys:signing';
const TEN_YEARS = 10 * 365 * 24 * 3600;

async function fromJwk(jwk: jose.JWK): Promise<SigningKey> {
  const privateKey = (await jose.importJWK(jwk, 'RS256')) as CryptoKey;
  const { d, p, q, dp, dq, qi, ...pub } = jwk;
  const kid = jwk.kid ?? (await jose.calculateJwkThumbprint(pub));
  const publicJwk = { ...pub, kid, alg: 'RS256', use: 'sig' };
  const publicKey = (await jose.importJWK(publicJwk, 'RS256')) as CryptoKey;
  return { kid, alg: 'RS256', privateKey, publicKey, publicJwk };
}

export class SigningKeys {
  private current?: Promise<SigningKey>;

  constructor(private readonly store: Store, private readonly configured?: string) {}

  get(): Promise<SigningKey> {
    this.current ??= this.load().catch((err) => {
      this.current = undefined; // a store outage must not poison the key forever
      throw err;
    });
    return this.current;
  }

  private async load(): Promise<SigningKey> {
    if (this.configured) return fromJwk(JSON.parse(this.configured) as jose.JWK);
    const existing = await this.store.get<jose.JWK>(STORE_KEY);
    if (existing) return fromJwk(existing);
    const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
    const jwk = await jose.exportJWK(privateKey);
    jwk.kid = await jose.calculateJwkThumbprint({ kty: jwk.kty!, n: jwk.n!, e: jwk.e! });
    if (await this.store.putIfAbsent(STORE_KEY, jwk, TEN_YEARS)) return fromJwk(jwk);
    return fromJwk((await this.store.get<jose.JWK>(STORE_KEY))!);
  }
}
