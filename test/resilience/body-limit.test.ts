/**
 * An answer from "Keycloak" that never ends is cut at BODY_LIMIT_BYTES on every fetch path
 * (attack helper round 30b: a 2 GB discovery answer was buffered, about 450 MB in the 5 s
 * before the 504). Each path meets a server that streams JSON-looking bytes for as long as it is
 * read: without the limit the call reads until its deadline and ends as a timeout. The cut is a
 * bad answer (502's upstream_bad_response), and the server stays up for its breaker: it answered.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { BrokerError } from '../../src/errors.js';
import { AdminConnector } from '../../src/upstream/admin-connector.js';
import { CircuitBreaker } from '../../src/upstream/circuit-breaker.js';
import type { RealmConnector } from '../../src/upstream/realm-connector.js';
import { RealmSlots } from '../../src/upstream/realm-slots.js';
import { SlottedFetch } from '../../src/upstream/slotted-fetch.js';
import { translateUpstreamError } from '../../src/upstream/translate-error.js';
import { BODY_LIMIT_BYTES, cappedAgent, guardedFetch } from '../../src/upstream/upstream-fetch.js';

describe('answers from Keycloak are cut at their size limit', function () {
  this.timeout(20_000);
  let flood: Server;
  let base: string;
  /** Bytes the flood server wrote, all answers together. */
  let written = 0;
  const chunk = Buffer.alloc(64 * 1024, 'x');
  let breaker: CircuitBreaker;

  /** 70 MB of JSON (a list of zeros, past the limit unpacked), gzipped to about 70 KB. */
  const bomb = gzipSync(`[${'0,'.repeat(35_000_000)}0]`);
  /** The accept-encoding of the last request to `/gzip`. */
  let asked: string | undefined;

  before(async () => {
    // `/declared` says its length up front (2 GB); `/gzip` sends the bomb, said to be gzip
    // whatever was asked; every other path is chunked, with no end.
    flood = createServer((req, res) => {
      req.resume();
      if (req.url?.startsWith('/gzip')) {
        asked = req.headers['accept-encoding'];
        return void res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(bomb);
      }
      res.writeHead(200, { 'content-type': 'application/json', ...(req.url === '/declared' ? { 'content-length': String(2 ** 31) } : {}) });
      res.write('[{"a":"');
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) written += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    await new Promise<void>((resolve) => flood.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(flood.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    written = 0;
    breaker = new CircuitBreaker('test', { probe: async () => {}, failureThreshold: 1 });
  });
  afterEach(() => breaker.stop());
  after(() => { flood.closeAllConnections(); flood.close(); });

  /** `call` fails as a bad answer (not a timeout) having read about the limit, and the breaker stays up. */
  const cutAtTheLimit = async (call: () => Promise<unknown>) => {
    const err = await call().then(() => assert.fail('the endless answer was read to an end'), (e: unknown) => e);
    const ours = err instanceof BrokerError ? err : translateUpstreamError(err, 'the test');
    assert.equal(ours.code, 'upstream_bad_response', `${ours.code}: ${ours.message}`);
    assert.match(ours.message, new RegExp(`over ${BODY_LIMIT_BYTES} bytes|unusable`));
    assert.ok(written < BODY_LIMIT_BYTES * 3, `${written} bytes were sent before the cut`);
    assert.equal(breaker.snapshot().state, 'closed', 'an answer, however long, is the server up');
    assert.equal(breaker.snapshot().failures, 0);
  };

  it('the guarded fetch (discovery, key sets), chunked or with a declared length', async () => {
    const agent = cappedAgent();
    try {
      for (const path of ['/chunked', '/declared']) {
        await cutAtTheLimit(async () => (await guardedFetch(breaker, 5_000, agent)(`${base}${path}`)).json());
      }
    } finally {
      await agent.close();
    }
  });

  it('the slotted fetch (user searches, userinfo), with its slot given back', async () => {
    const slots = new RealmSlots('test', 4);
    const slotted = new SlottedFetch(breaker, 5_000, slots);
    try {
      await cutAtTheLimit(async () => (await slotted.fetch('r', `${base}/users`)).json());
      assert.equal(slots.inFlight('r'), 0);
    } finally {
      slotted.close();
    }
  });

  it('an answer said to be compressed is read as sent, never unpacked past the limit, on every path', async () => {
    // The size limit counts the bytes that come: unpacked, these would be 70 MB of valid JSON.
    const agent = cappedAgent();
    const slotted = new SlottedFetch(breaker, 5_000, new RealmSlots('test', 4));
    const tokenRealm = { realm: 'master', clientCredentials: async () => ({ access_token: 't', expires_in: 300 }) } as unknown as RealmConnector;
    const admin = new AdminConnector(`${base}/gzip`, tokenRealm, { clientId: 'broker' }, breaker, 5_000, slotted, agent);
    try {
      for (const fetched of [guardedFetch(breaker, 5_000, agent)(`${base}/gzip`), slotted.fetch('r', `${base}/gzip`)]) {
        asked = undefined;
        const res = await fetched;
        assert.equal((await res.arrayBuffer()).byteLength, bomb.length, 'the bytes as sent');
        assert.equal(asked, 'identity', 'no compression asked for');
      }
      asked = undefined;
      await assert.rejects(admin.listRealms(), (err: BrokerError) => err.code === 'upstream_bad_response');
      assert.equal(asked, 'identity');
    } finally {
      slotted.close();
      await agent.close();
    }
  });

  it('the admin client (the realm list)', async () => {
    const agent = cappedAgent();
    const slotted = new SlottedFetch(breaker, 5_000, new RealmSlots('test', 4));
    // The service account's token, without a realm to ask for it.
    const tokenRealm = { realm: 'master', clientCredentials: async () => ({ access_token: 't', expires_in: 300 }) } as unknown as RealmConnector;
    const admin = new AdminConnector(base, tokenRealm, { clientId: 'broker' }, breaker, 5_000, slotted, agent);
    try {
      await cutAtTheLimit(() => admin.listRealms());
    } finally {
      slotted.close();
      await agent.close();
    }
  });
});
