/**
 * A MAC keyed with a secret every replica shares and no caller knows, for the store's keys
 * and records that stand for a caller's secret or token (the caches): the store never holds
 * the secret or token itself, and one who reads the store cannot confirm a guess.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { Config } from '../config/schema.js';

/** The key, imported once per key string (a KeyObject: no key set-up per call). */
let imported: { from: string; key: KeyObject } | undefined;
function keyOf(config: Config): KeyObject {
  const secret = config.platform.keyEncryptionKey ?? config.brokerClient.clientSecret ?? 'realm-broker';
  if (imported?.from !== secret) imported = { from: secret, key: createSecretKey(Buffer.from(secret)) };
  return imported.key;
}

export function storeMac(config: Config, value: string): Buffer {
  return createHmac('sha256', keyOf(config)).update(value).digest();
}
