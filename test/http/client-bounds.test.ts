/**
 * What a hostile client may hold of the broker (attack helper, 2026-12-06), against a real
 * broker (http/server.ts): headers trickled and bodies trickled are cut off within their
 * bounds (Node's defaults kept them 86 s and 326 s); answers nobody reads do not keep their
 * connection for ever; a body over the limit ends its connection with the 413 (the broker read
 * gigabytes more otherwise); connections past the cap are closed at once; a method nobody
 * supports is not an error line each. And the broker out of descriptors is not Keycloak down
 * (upstream-fetch.ts).
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import type { AddressInfo } from 'node:net';
import { HEADERS_MS, MANAGEMENT_CONNECTIONS, clientConnectionCap, createManagementServer, limitPerAddress, perAddressCap } from '../../src/http/server.js';
import { buildManagementApp } from '../../src/metrics/management.js';
import { CircuitBreaker } from '../../src/upstream/circuit-breaker.js';
import { guardedCall } from '../../src/upstream/upstream-fetch.js';

/** Resolves with the ms until the server closed the socket, or `undefined` after `withinMs`. */
function closedWithin(socket: Socket, withinMs: number, started = performance.now()): Promise<number | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), withinMs);
    socket.on('close', () => { clearTimeout(timer); resolve(performance.now() - started); });
    socket.on('error', () => {});
  });
}

const opened = (port: number, from?: string) => new Promise<Socket>((resolve, reject) => {
  const s = connect({ port, host: '127.0.0.1', localAddress: from }, () => resolve(s));
  s.once('error', reject);
});

describe('what a client may hold of the broker', function () {
  this.timeout(120_000);
  let broker: TestBroker;
  let port: number;
  const sockets: Socket[] = [];
  before(async () => {
    broker = await startBroker({ overrides: { maxClientConnections: 40, maxConnectionsPerAddress: 16 } });
    port = Number(new URL(broker.url).port);
  });
  afterEach(() => { for (const s of sockets.splice(0)) s.destroy(); });
  after(() => broker.close());
  const open = async (from?: string) => {
    const s = await opened(port, from);
    sockets.push(s);
    return s;
  };

  it('trickled headers and a trickled body: each connection is closed within its bound', async () => {
    // Headers, a byte a second.
    const headers = await open();
    const headerBytes = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(100);
    let i = 0;
    const trickle = setInterval(() => { if (!headers.destroyed) headers.write(headerBytes[i++ % headerBytes.length]!); }, 1000);
    // A body, a byte a second, on the direct lane.
    const body = await open();
    let answer = '';
    body.on('data', (d: Buffer) => { answer += d.toString('latin1'); });
    body.write('POST /auth/api/v1/oauth/connect/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n');
    const drip = setInterval(() => { if (!body.destroyed) body.write('a'); }, 1000);
    try {
      const [h, b] = await Promise.all([closedWithin(headers, 20_000), closedWithin(body, 30_000)]);
      assert.ok(h !== undefined && h >= HEADERS_MS - 1000, `headers: closed after ${h} ms`);
      assert.ok(b !== undefined, 'a trickled body: closed within 30 s');
      assert.match(answer, /^HTTP\/1\.1 408 /, 'and told why (attack helper round 25: closed with nothing said)');
    } finally {
      clearInterval(trickle);
      clearInterval(drip);
    }
  });

  it('answers nobody reads: the broker lets their connection go', async () => {
    // 200 requests for the OpenAPI document (about 100 KB each), pipelined, never read. The
    // client cannot tell (what it does not read holds the close back): the broker's count can.
    const unread = await open();
    unread.pause();
    unread.write('GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(200));
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await broker.connections(), 1, 'held while answers are written');
    const started = performance.now();
    while (await broker.connections() > 0 && performance.now() - started < 60_000) await new Promise((r) => setTimeout(r, 500));
    assert.equal(await broker.connections(), 0, 'let go within a minute');
  });

  it('a body over the limit: the 413 ends its connection', async () => {
    const s = await open();
    let answer = '';
    s.on('data', (d: Buffer) => { answer += d.toString('latin1'); });
    s.write('POST /auth/api/v1/oauth/connect/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000000\r\n\r\n');
    const pump = setInterval(() => { if (!s.destroyed) s.write(Buffer.alloc(16 * 1024, 'a')); }, 5);
    try {
      assert.ok(await closedWithin(s, 5000) !== undefined, 'closed by the broker');
    } finally {
      clearInterval(pump);
    }
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, /\r\nconnection: close\r\n/i);
  });

  it('connections past the cap are closed at once; under it, served', async () => {
    // From four addresses: one address holds 16 at most here (below).
    const idle = [];
    for (let n = 0; n < 40; n++) idle.push(await open(`127.0.0.${10 + (n % 4)}`));
    await new Promise((r) => setTimeout(r, 200));
    const extra = await open();
    assert.ok(await closedWithin(extra, 2000) !== undefined, 'the 41st connection was closed');
    for (const s of idle) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await fetch(`${broker.url}/api/v1/platform/.well-known/jwks.json`)).status, 200);
  });

  it('one address holds its share at most: others are still served (round 32)', async () => {
    // Round 32: one host holding connections (trickled headers, reconnecting as each was closed)
    // filled a 500 cap and a third of other clients' requests failed. Here 16 an address (configured).
    const held = [];
    for (let n = 0; n < 16; n++) held.push(await open('127.0.0.2'));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await closedWithin(held[0]!, 300), undefined, 'under its share: kept');
    assert.ok(await closedWithin(await open('127.0.0.2'), 2000) !== undefined, 'the 17th from that address was closed');
    assert.equal((await fetch(`${broker.url}/api/v1/platform/.well-known/jwks.json`)).status, 200, 'another address is served');
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const again = await open('127.0.0.2');
    assert.equal(await closedWithin(again, 300), undefined, 'its connections closed: it may connect again');
  });

  it('what Node\'s parser refuses is answered in RFC 6749\'s error shape, and the connection closed', async () => {
    const cases: [string, number][] = [
      ['POST /auth/api/v1/oauth/connect/token HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
      [`GET /api/v1/platform/.well-known/jwks.json HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
      ['BREW /coffee HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      // Accepted, handed to the route, then broken (attack helper round 25: closed with nothing said).
      ['POST /auth/api/v1/oauth/connect/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400],
      ['POST /auth/api/v1/oauth/connect/token/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400],
    ];
    for (const [request, status] of cases) {
      const s = await open();
      let answer = '';
      s.on('data', (d: Buffer) => { answer += d.toString('latin1'); });
      s.write(request);
      assert.ok(await closedWithin(s, 5000) !== undefined, 'closed');
      assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), answer.slice(0, 80));
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
      assert.equal(body.error, 'invalid_request');
      assert.equal(typeof body.error_description, 'string');
    }
  });

  it('the management listener has bounds of its own: a connection cap and the request timeouts', async () => {
    const management = createManagementServer(buildManagementApp(broker.deps).callback(), broker.deps.config).listen(0, '127.0.0.1');
    await new Promise((r) => management.once('listening', r));
    const at = (management.address() as AddressInfo).port;
    try {
      const held: Socket[] = [];
      for (let n = 0; n < MANAGEMENT_CONNECTIONS; n++) held.push(await opened(at));
      sockets.push(...held);
      // Headers trickled on one of them, a byte a second (as a scraper never would).
      const started = performance.now();
      const headerBytes = 'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(100);
      let i = 0;
      const trickle = setInterval(() => { if (!held[0]!.destroyed) held[0]!.write(headerBytes[i++ % headerBytes.length]!); }, 1000);
      try {
        await new Promise((r) => setTimeout(r, 200));
        const extra = await opened(at);
        sockets.push(extra);
        assert.ok(await closedWithin(extra, 2000) !== undefined, 'past the cap: closed');
        const cut = await closedWithin(held[0]!, HEADERS_MS + 5000, started);
        assert.ok(cut !== undefined, 'trickled headers: cut off within their bound');
      } finally {
        clearInterval(trickle);
      }
      for (const s of held) s.destroy();
      await new Promise((r) => setTimeout(r, 200));
      assert.equal((await fetch(`http://127.0.0.1:${at}/healthz`)).status, 200);
    } finally {
      management.closeAllConnections();
      management.close();
    }
  });

  it('a method nobody supports is answered 501, and is not logged as a failure of ours', async () => {
    const before = broker.logs.length;
    for (let n = 0; n < 20; n++) {
      const res = await fetch(`${broker.url}/auth/api/v1/oauth/connect/token`, { method: 'PROPFIND' });
      assert.equal(res.status, 501);
    }
    const errors = broker.logs.slice(before).filter((l) => l.includes('"level":"error"'));
    assert.deepEqual(errors, [], 'an error line a request would bury the real ones');
  });

  it('by default, what the open-file limit leaves after the upstream pools and a reserve', () => {
    const upstreams = [{ maxConnections: 64 }, { maxConnections: 64 }] as never;
    assert.equal(clientConnectionCap({ upstreams }, 20_000), 20_000 - 256 - 256);
    assert.equal(clientConnectionCap({ upstreams }, 300), 64);
    assert.equal(clientConnectionCap({ upstreams, maxClientConnections: 10 }, 20_000), 10);
    // An address's share: a quarter facing clients, none behind a proxy, as configured (0: none).
    assert.equal(perAddressCap({ trustProxy: 0 }, 20_000), 5_000);
    assert.equal(perAddressCap({ trustProxy: 0 }, 500), 256);
    assert.equal(perAddressCap({ trustProxy: 0 }, 200), undefined, 'a cap under 256: the cap alone');
    assert.equal(perAddressCap({ trustProxy: 1 }, 20_000), undefined);
    assert.equal(perAddressCap({ trustProxy: 1, maxConnectionsPerAddress: 100 }, 20_000), 100);
    assert.equal(perAddressCap({ trustProxy: 0, maxConnectionsPerAddress: 0 }, 20_000), undefined);
  });

  it('an IPv6 host counts by its /64: connecting from many of its addresses gets no more connections', () => {
    // Sockets as the server hands them over (the loopback here has one IPv6 address, a host has 2^64).
    const server = new EventEmitter();
    limitPerAddress(server as never, 3);
    const connect = (remoteAddress: string) => {
      const socket = Object.assign(new EventEmitter(), { remoteAddress, destroyed: false, destroy() { this.destroyed = true; } });
      server.emit('connection', socket);
      return socket;
    };
    const host = [1, 2, 3, 4].map((n) => connect(`2001:db8:1:2::${n.toString(16)}`));
    assert.deepEqual(host.map((s) => s.destroyed), [false, false, false, true], 'a fourth address of the same /64 is the fourth connection');
    assert.equal(connect('2001:db8:1:3::1').destroyed, false, 'another /64 is another host');
    assert.equal(connect('::ffff:192.0.2.7').destroyed, false);
    host[0]!.emit('close');
    assert.equal(connect('2001:db8:1:2:ffff::9').destroyed, false, 'a closed one frees its place');
    // A link-local peer, as Node names it: with its zone (attack round 38: the URL parser threw, in
    // the connection listener, and the process ended). Counted by its /64, zone or not.
    const local = ['fe80::fc:ff:fe00:1%eth0', 'fe80::fc:ff:fe00:2%eth0', 'fe80::3'].map(connect);
    assert.deepEqual(local.map((s) => s.destroyed), [false, false, false]);
    assert.equal(connect('fe80::4%eth1').destroyed, true, 'the fourth of fe80::/64');
  });

  it('the broker out of descriptors (EMFILE) is not Keycloak down', async () => {
    const breaker = new CircuitBreaker('test', { probe: async () => {} });
    const emfile = Object.assign(new Error('fetch failed'), { cause: Object.assign(new Error('connect EMFILE 127.0.0.1:8080'), { code: 'EMFILE' }) });
    for (let n = 0; n < 20; n++) await assert.rejects(guardedCall(breaker, 1000, async () => { throw emfile; }));
    assert.equal(breaker.snapshot().state, 'closed');
  });
});
