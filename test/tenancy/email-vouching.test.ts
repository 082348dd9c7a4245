/**
 * The platform issuer's rule for `email_verified` (tenancy/email-vouching.ts), case by case;
 * the flows that use it are tested against Keycloak in test/security/attack-findings.test.ts.
 */
import assert from 'node:assert/strict';
import { holdsEmailDomain, vouchedClaims } from '../../src/tenancy/email-vouching.js';

describe('email vouching at the platform issuer', () => {
  const globex = { emailDomains: ['globex.example'] };

  it('vouches for a plain address in a held domain, in any letter case of the domain', () => {
    assert.equal(holdsEmailDomain(globex, 'bob@globex.example'), true);
    assert.equal(holdsEmailDomain(globex, 'Bob@GLOBEX.example'), true);
    assert.equal(holdsEmailDomain(globex, "o'neil+tag@globex.example"), true, 'atom characters');
  });

  // Attack of 2026-12-06: addresses a realm admin can give their own users (Keycloak takes a
  // quoted local part; without its email validator, which that admin may drop, anything).
  it('not for a domain it does not hold, or an address that is not plain', () => {
    for (const email of [
      'bob@globex.example.', 'bob@evil.example', 'bob@sub.globex.example',
      '"bob@globex.example"@globex.example', '"bob"@globex.example', 'bob@globex.example@globex.example',
      'bob @globex.example', 'bob\u0000@globex.example', 'bob@globex.example\n', '@globex.example', 'bob@',
      'bob\uff20evil.example@globex.example', 'bob%evil.example@globex.example', 'b\u00f6b@globex.example',
    ]) assert.equal(holdsEmailDomain(globex, email), false, JSON.stringify(email));
    assert.equal(holdsEmailDomain(undefined, 'bob@globex.example'), false, 'no tenant holds nothing');
    assert.equal(holdsEmailDomain(globex, 42), false);
  });

  it('drops email_verified it does not vouch for, and leaves the claims it was given as they are', () => {
    const given = Object.freeze({ sub: 's', email: 'bob@evil.example', email_verified: true });
    const said = vouchedClaims(given, globex);
    assert.deepEqual(said, { sub: 's', email: 'bob@evil.example' });
    assert.equal(given.email_verified, true);
    const held = { email: 'bob@globex.example', email_verified: true };
    assert.equal(vouchedClaims(held, globex), held, 'the same object when nothing changes');
  });
});
