/** One key per client for the per-address limits, however the address is written (attack helper, 2026-12-06). */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { requestAddress } from '../../src/http/client-address.js';

const request = (socket: string, forwarded?: string) => ({ headers: forwarded ? { 'x-forwarded-for': forwarded } : {}, socket: { remoteAddress: socket } }) as unknown as IncomingMessage;

describe('the client address per-address limits count', () => {
  it('an IPv6 address is its /64, whatever its spelling; an IPv4 one written as IPv6 is itself', () => {
    for (const spelling of ['2001:0db8:0001:0002::1', '2001:DB8:1:2::1', '2001:db8:1:2:ffff:0:0:7']) {
      assert.equal(requestAddress(request(spelling), 0), '2001:db8:1:2::/64', spelling);
    }
    for (const spelling of ['::ffff:10.1.2.3', '::FFFF:10.1.2.3', '::ffff:a01:203', '10.1.2.3']) {
      assert.equal(requestAddress(request(spelling), 0), '10.1.2.3', spelling);
    }
    assert.equal(requestAddress(request('::1'), 0), '0:0:0:0::/64');
  });

  it('behind one trusted proxy, the entry it added (the last); without, the socket\'s', () => {
    assert.equal(requestAddress(request('127.0.0.1', '6.6.6.6, 2001:DB8:1:2::9'), 1), '2001:db8:1:2::/64');
    assert.equal(requestAddress(request('127.0.0.1', '6.6.6.6'), 0), '127.0.0.1');
    assert.equal(requestAddress(request('::ffff:127.0.0.1'), 1), '127.0.0.1', 'no header: the socket');
  });

  // Attack helper round 24: behind a proxy that writes the client's port, each port was an address.
  it('an entry with the client\'s port is the address without it', () => {
    assert.equal(requestAddress(request('127.0.0.1', '10.7.7.7:1111'), 1), '10.7.7.7');
    assert.equal(requestAddress(request('127.0.0.1', '[2001:db8:1:2::9]:443'), 1), '2001:db8:1:2::/64');
    assert.equal(requestAddress(request('127.0.0.1', '[::ffff:10.7.7.7]'), 1), '10.7.7.7');
  });
});
