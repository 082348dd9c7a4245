/**
 * A redirect from "Keycloak" is an answer, never followed (attack helper round 30b: a user
 * search answered 302 to another origin was followed, and its failure there counted against
 * the server). Both fetch paths to Keycloak: the guarded fetch (discovery, JWKS) and the
 * slotted fetch (user searches, userinfo).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CircuitBreaker } from '../../src/upstream/circuit-breaker.js';
import { RealmSlots } from '../../src/upstream/realm-slots.js';
import { SlottedFetch } from '../../src/upstream/slotted-fetch.js';
import { cappedAgent, guardedFetch } from '../../src/upstream/upstream-fetch.js';

describe('calls to Keycloak do not follow redirects', () => {
  let elsewhere: Server;
  let keycloak: Server;
  let hits = 0;
  let base: string;
  const breaker = new CircuitBreaker('test', { probe: async () => {} });
  const listen = async (server: Server) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  before(async () => {
    elsewhere = createServer((_req, res) => { hits++; res.end('{}'); });
    const target = await listen(elsewhere);
    keycloak = createServer((req, res) => {
      res.writeHead(req.url === '/307' ? 307 : 302, { location: `${target}/stolen` }).end();
    });
    base = await listen(keycloak);
  });
  after(() => {
    breaker.stop();
    for (const s of [elsewhere, keycloak]) { s.closeAllConnections(); s.close(); }
  });

  it('the guarded fetch gets the 302 itself', async () => {
    const res = await guardedFetch(breaker, 1000, cappedAgent())(`${base}/302`, { headers: { authorization: 'Bearer secret' } });
    assert.equal(res.status, 302);
    assert.equal(hits, 0, 'the other origin was not asked');
  });

  it('the slotted fetch gets the 307 itself, and gives its slot back', async () => {
    const slots = new RealmSlots('test', 4);
    const slotted = new SlottedFetch(breaker, 1000, slots);
    try {
      const res = await slotted.fetch('r', `${base}/307`, { headers: { authorization: 'Bearer secret' } });
      assert.equal(res.status, 307);
      assert.equal(hits, 0, 'the other origin was not asked');
      assert.equal(slots.inFlight('r'), 0);
    } finally {
      slotted.close();
    }
  });
});
