/**
 * Each realm's share of a Keycloak server (upstream/realm-slots.ts), by itself: the line, the
 * refusal past it, the wait bounded by the deadline, one realm's line leaving another's alone.
 * The end-to-end case (a realm whose LDAP never answers, against the real server) is
 * test/security/noisy-realm.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BrokerError } from '../../src/errors.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { CircuitBreaker } from '../../src/upstream/circuit-breaker.js';
import { LINE_PER_SLOT, RealmSlots, type Slot } from '../../src/upstream/realm-slots.js';
import { SlottedFetch } from '../../src/upstream/slotted-fetch.js';
import { KeepAliveClient } from '../../src/upstream/keepalive-client.js';

const taken = async (s: Slot | Promise<Slot>) => s;

describe('realm slots (one realm\'s share of a server)', () => {
  it('gives `limit` slots at once, lines up LINE_PER_SLOT times as many, refuses the rest with a 503 and Retry-After', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const slots = new RealmSlots('kc1', 2, metrics);
    const first = slots.take('noisy', 1000);
    const second = slots.take('noisy', 1000);
    assert.ok(!(first instanceof Promise) && !(second instanceof Promise), 'free slots come without a promise');
    const waiting = Array.from({ length: 2 * LINE_PER_SLOT }, () => slots.take('noisy', 1000));
    assert.ok(waiting.every((w) => w instanceof Promise));
    assert.throws(() => slots.take('noisy', 1000), (err: unknown) =>
      err instanceof BrokerError && err.status === 503 && err.code === 'upstream_unavailable' && err.retryAfter === 1);
    assert.equal(slots.inFlight('noisy'), 2);
    assert.equal(slots.inFlight('quiet'), 0);
    assert.ok(!(slots.take('quiet', 1000) instanceof Promise), 'another realm is not in the noisy one\'s line');

    (first as Slot).release();
    (first as Slot).release(); // a second release does nothing
    const third = await waiting[0]!;
    assert.equal(slots.inFlight('noisy'), 2, 'the released slot went to the first in line');
    (second as Slot).release();
    third.release();
    for (const w of waiting.slice(1)) (await w).release();
    assert.equal(slots.inFlight('noisy'), 0);
    const counted = (await metrics.realmBusy.get()).values.find((v) => v.labels.outcome === 'refused');
    assert.equal(counted?.value, 1);
  });

  it('a call waits in line no longer than it is given (the deadline): a 504 then, and the line moves on', async () => {
    const slots = new RealmSlots('kc1', 1);
    const held = await taken(slots.take('noisy', 1000));
    const started = performance.now();
    await assert.rejects(taken(slots.take('noisy', 50)), (err: unknown) => err instanceof BrokerError && err.status === 504);
    assert.ok(performance.now() - started < 500);
    const next = slots.take('noisy', 1000);
    held.release();
    (await taken(next)).release();
    assert.equal(slots.inFlight('noisy'), 0);
  });
});

// Attack helper, 2026-12-06 (round 3): one address with one valid token (introspected without
// end) or one refresh token took acme's whole share with calls that succeed, and acme's other
// callers got 503.
describe('one client address\'s part of a realm\'s share', () => {
  it('an address alone may use the whole share; when another waits, the next free slot is the other\'s', async () => {
    const slots = new RealmSlots('kc1', 4);
    assert.equal(slots.perAddress, 2, 'half the share by default');
    const a = Array.from({ length: 4 }, () => slots.take('acme', 1000, 'A'));
    assert.ok(a.every((s) => !(s instanceof Promise)), 'free slots are anyone\'s');
    const a5 = slots.take('acme', 1000, 'A');
    const b1 = slots.take('acme', 1000, 'B');
    assert.ok(a5 instanceof Promise && b1 instanceof Promise);
    let a5served = false;
    void a5.then(() => { a5served = true; });
    (a[0] as Slot).release();
    const b1slot = await b1;
    await new Promise((r) => setImmediate(r));
    assert.equal(a5served, false, 'B, within its part, went before A\'s earlier call');
    assert.equal(slots.inFlight('acme', 'B'), 1);
    (a[1] as Slot).release();
    const a5slot = await a5;
    for (const s of [a[2] as Slot, a[3] as Slot, a5slot, b1slot]) s.release();
    assert.equal(slots.inFlight('acme'), 0);
  });

  it('an address fills only its part of the line; past it, its calls are refused and another\'s still wait', async () => {
    const slots = new RealmSlots('kc1', 2, undefined, 1);
    const held = [await taken(slots.take('acme', 1000, 'A')), await taken(slots.take('acme', 1000, 'A'))];
    const lined = Array.from({ length: LINE_PER_SLOT }, () => slots.take('acme', 1000, 'A'));
    assert.throws(() => slots.take('acme', 1000, 'A'), (err: unknown) => err instanceof BrokerError && err.status === 503 && /from this client address/.test(err.message));
    const b1 = slots.take('acme', 1000, 'B');
    assert.ok(b1 instanceof Promise, 'B waits, in the line A could not fill');
    held[0]!.release();
    (await b1).release();
    held[1]!.release();
    for (const w of lined) (await w).release();
    assert.equal(slots.inFlight('acme'), 0);
  });

  it('calls outside a request (no address) have only the realm\'s bound', async () => {
    const slots = new RealmSlots('kc1', 2);
    const held = [slots.take('acme', 1000), slots.take('acme', 1000)];
    assert.ok(held.every((s) => !(s instanceof Promise)));
    for (const s of held) (s as Slot).release();
  });
});

describe('a slotted fetch keeps its slot until the server answers, not until its caller gives up', () => {
  let server: Server;
  let base: string;
  const breaker = new CircuitBreaker('test', { probe: async () => {} });
  before(async () => {
    // /slow answers after 600 ms, /never never does, anything else at once.
    server = createServer((req, res) => {
      if (req.url === '/never') return;
      setTimeout(() => res.end('{"ok":true}'), req.url === '/slow' ? 600 : 0);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    breaker.stop();
    server.closeAllConnections();
    server.close();
  });

  it('answers within its time; the slot is kept past the caller\'s timeout until the answer comes', async () => {
    const slots = new RealmSlots('test', 4);
    const slotted = new SlottedFetch(breaker, 200, slots);
    assert.deepEqual(await (await slotted.fetch('r', `${base}/fast`)).json(), { ok: true });
    assert.equal(slots.inFlight('r'), 0, 'released as the answer came');
    const started = performance.now();
    await assert.rejects(slotted.fetch('r', `${base}/slow`), (err: Error) => err.name === 'TimeoutError');
    assert.ok(performance.now() - started < 450, 'the caller had its timeout at its time');
    assert.equal(slots.inFlight('r'), 1, 'the server is still working on it');
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(slots.inFlight('r'), 0, 'released when the server answered');
  });

  it('a search\'s budget bounds its wait; a call kept for its slot is given up when the server is found down', async () => {
    const slots = new RealmSlots('test', 4);
    const slotted = new SlottedFetch(breaker, 5000, slots);
    const started = performance.now();
    await assert.rejects(slotted.fetch('r', `${base}/never`, {}, { budgetMs: 100, timeoutsCount: false }), (err: Error) => err.name === 'TimeoutError');
    assert.ok(performance.now() - started < 400);
    assert.equal(slots.inFlight('r'), 1);
    slotted.giveUpHeld();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(slots.inFlight('r'), 0);
  });

  it('with a hold limit, a call nobody answers is given up that long after its caller\'s timeout', async () => {
    const slots = new RealmSlots('test', 4, undefined, undefined, 300);
    const slotted = new SlottedFetch(breaker, 200, slots);
    try {
      await assert.rejects(slotted.fetch('r', `${base}/never`), (err: Error) => err.name === 'TimeoutError');
      assert.equal(slots.inFlight('r'), 1, 'kept past the timeout');
      await new Promise((r) => setTimeout(r, 450));
      assert.equal(slots.inFlight('r'), 0, 'given up');
    } finally {
      slotted.close();
    }
  });
});

describe('the keep-alive client keeps a slot while Keycloak works on the call, not while a body trickles', () => {
  let server: Server;
  let base: string;
  const trickles = new Set<NodeJS.Timeout>();
  const breaker = new CircuitBreaker('test', { probe: async () => {} });
  before(async () => {
    // /slow answers whole after 600 ms; /trickle sends its head at once, /late-trickle after
    // 400 ms, and then one byte of body every 50 ms, without end.
    server = createServer((req, res) => {
      req.resume();
      const trickle = () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{');
        const timer = setInterval(() => res.write(' '), 50);
        trickles.add(timer);
        res.on('close', () => clearInterval(timer));
      };
      if (req.url === '/slow') setTimeout(() => res.end('{"access_token":"x"}'), 600);
      else if (req.url === '/trickle') trickle();
      else if (req.url === '/late-trickle') setTimeout(trickle, 400);
      else res.end('{"access_token":"x"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    for (const t of trickles) clearInterval(t);
    breaker.stop();
    server.closeAllConnections();
    server.close();
  });

  const timedOut = (err: Error) => err.name === 'TimeoutError';
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('a call past its caller\'s deadline keeps its slot until the answer begins, then gives it back', async () => {
    const slots = new RealmSlots('test', 4);
    const client = new KeepAliveClient(breaker, 200, 4, slots);
    try {
      assert.equal((await client.postForm(`${base}/fast`, 'a=b', 'r')).status, 200);
      await assert.rejects(client.postForm(`${base}/slow`, 'a=b', 'r'), timedOut);
      assert.equal(slots.inFlight('r'), 1, 'Keycloak is still working on it');
      await sleep(600);
      assert.equal(slots.inFlight('r'), 0, 'released when the answer came');
    } finally {
      client.close();
    }
  });

  it('a body trickling in after its head does not hold the slot (attack helper round 30b)', async () => {
    const slots = new RealmSlots('test', 4);
    const client = new KeepAliveClient(breaker, 200, 4, slots);
    try {
      // Its head came within the deadline: cut at the deadline.
      await assert.rejects(client.postForm(`${base}/trickle`, 'a=b', 'r'), timedOut);
      await sleep(30);
      assert.equal(slots.inFlight('r'), 0, 'the slot is free though the body still trickles');
      // Its head came after the deadline: cut when it came.
      await assert.rejects(client.postForm(`${base}/late-trickle`, 'a=b', 'r'), timedOut);
      assert.equal(slots.inFlight('r'), 1, 'no answer yet: kept');
      await sleep(350);
      assert.equal(slots.inFlight('r'), 0, 'the head came: given back, the trickle cut');
      assert.equal((await client.postForm(`${base}/fast`, 'a=b', 'r')).status, 200, 'and the realm is served');
    } finally {
      client.close();
    }
  });
});
