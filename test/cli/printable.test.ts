/**
 * The CLI's text output with names a realm's admin chose (attack helper round 30b): no
 * terminal escape, no forged line, no bidirectional override reaches the operator's terminal.
 */
import assert from 'node:assert/strict';
import { inWords } from '../../src/cli/discover.js';
import { printable, printableLines } from '../../src/cli/printable.js';

const HOSTILE = '\u001b]0;pwned\u0007Globex\r\nacme (Acme) on server1\u202eelif.exe\u009b31m';

describe('CLI output of names from Keycloak', () => {
  it('discover writes a hostile display name as escapes, on its own line', () => {
    const text = inWords({ email: 'x@globex.example', emailWithoutDomainRule: 'lookup', next: 'realm', tenants: [{ slug: 'globex', displayName: HOSTILE, upstream: 'server1' }] });
    assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/, JSON.stringify(text));
    assert.equal(text.split('\n').length, 2, 'the tenant line and the answer: no forged line');
    assert.match(text, /globex \(\\u\{1b\}\]0;pwned\\u\{7\}Globex\\u\{d\}\\u\{a\}acme \(Acme\) on server1\\u\{202e\}elif\.exe\\u\{9b\}31m\) on server1/);
  });

  it('printable escapes line ends too; printableLines keeps them and escapes the rest', () => {
    assert.equal(printable('a\nb\tc'), 'a\\u{a}b\\u{9}c');
    assert.equal(printableLines('a\nb\u001bc'), 'a\nb\\u{1b}c');
    assert.equal(printable('Société Générale — 東京'), 'Société Générale — 東京', 'letters of any script stay');
  });
});
