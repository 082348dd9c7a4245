/** The constant-time comparisons: secrets of any length, held secrets, fixed-length MACs. */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { KnownSecret, sameMac, sameSecret } from '../../src/http/same-secret.js';

describe('secret comparisons', () => {
  it('sameSecret: equal or not, whatever the lengths', () => {
    assert.equal(sameSecret('s3cret', 's3cret'), true);
    assert.equal(sameSecret('s3cret', 's3creT'), false);
    assert.equal(sameSecret('s3cret', 's3cret-and-more'), false);
    assert.equal(sameSecret('', 'x'), false);
  });

  it('KnownSecret: the presented secret matches the held one only', () => {
    const held = new KnownSecret('platform-service-secret');
    assert.equal(held.matches('platform-service-secret'), true);
    assert.equal(held.matches('platform-service-secreT'), false);
    assert.equal(held.matches('platform-service-secret '), false);
    assert.equal(held.matches(''), false);
  });

  it('sameMac: equal MACs match; another MAC or another length does not, and nothing throws', () => {
    const mac = (secret: string) => createHmac('sha256', 'key').update(secret).digest();
    assert.equal(sameMac(mac('a'), mac('a')), true);
    assert.equal(sameMac(mac('a'), mac('b')), false);
    assert.equal(sameMac(Buffer.from('AAAA', 'base64url'), mac('a')), false);
    assert.equal(sameMac(Buffer.alloc(0), mac('a')), false);
  });
});
