/**
 * Issue 12, item 3: the broker's own answers are prepared once, carry an ETag, and answer
 * 304 when unchanged; the server sends them again for a moment without entering Koa
 * (answer-memo.ts), with the same bytes and headers, per Host when they vary on it.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { AnswerMemo, MEMO_MS } from '../../src/http/answer-memo.js';
import { getWithHost, startBroker, withHost, type TestBroker } from '../helpers/broker.js';

describe('local answers: ETag and 304', () => {
  let broker: TestBroker;
  before(async () => { broker = await startBroker(); });
  after(() => broker.close());

  for (const [path, cache] of [
    ['/api/v1/platform/.well-known/jwks.json', /max-age=300/],
    ['/api/v1/platform/oauth/.well-known/jwks.json', /max-age=60/],
    ['/api/v1/platform/oauth/.well-known/openid-configuration', /max-age=300/],
    ['/api/v1/auth/tenants/globex/oauth/.well-known/openid-configuration', /max-age=300/],
    ['/v1/auth/config', /max-age=300/],
    ['/auth/api/v1/healthz', /no-store/],
  ] as const) {
    it(path, async () => {
      const first = await fetch(`${broker.url}${path}`);
      assert.equal(first.status, 200);
      assert.match(first.headers.get('cache-control')!, cache);
      const etag = first.headers.get('etag')!;
      assert.match(etag, /^"[\w-]+"$/);
      const body = await first.json();
      const second = await fetch(`${broker.url}${path}`);
      assert.equal(second.headers.get('etag'), etag, 'the same bytes');
      assert.deepEqual(await second.json(), body);
      const cached = await fetch(`${broker.url}${path}`, { headers: { 'if-none-match': etag } });
      assert.equal(cached.status, 304);
      assert.equal(await cached.text(), '');
    });
  }

  it('the platform and a tenant issuer get their own discovery bytes', async () => {
    const a = await (await fetch(`${broker.url}/api/v1/platform/oauth/.well-known/openid-configuration`)).json();
    const b = await (await fetch(`${broker.url}/api/v1/auth/tenants/acme/oauth/.well-known/openid-configuration`)).json();
    assert.notEqual(a.issuer, b.issuer);
  });

  describe('sent again without Koa for a moment (answer memo)', () => {
    const JWKS = '/api/v1/auth/tenants/acme/oauth/.well-known/jwks.json';
    let calls: number;
    let restore: () => void;
    beforeEach(() => {
      // The route asks the signing keys on every answer it makes: counting those calls
      // counts the answers that went through Koa.
      const keys = broker.deps.signingKeys;
      const published = keys.published.bind(keys);
      calls = 0;
      keys.published = () => { calls++; return published(); };
      restore = () => { keys.published = published; };
    });
    afterEach(() => restore());

    it('answers a repeated GET from the memo, with every header, a fresh request id and 304s', async () => {
      await new Promise((r) => setTimeout(r, MEMO_MS + 50)); // nothing recorded before this test
      const first = await fetch(`${broker.url}${JWKS}`, { headers: { 'x-request-id': 'first-1' } });
      const body = await first.text();
      assert.equal(calls, 1);
      const again = await fetch(`${broker.url}${JWKS}`, { headers: { 'x-request-id': 'again-2' } });
      assert.equal(calls, 1, 'not through Koa');
      assert.equal(await again.text(), body);
      assert.equal(again.headers.get('x-request-id'), 'again-2', 'its own request id');
      for (const h of ['etag', 'cache-control', 'content-type', 'content-length', 'vary', 'access-control-allow-origin', 'access-control-expose-headers', 'x-content-type-options', 'x-frame-options', 'referrer-policy']) {
        assert.equal(again.headers.get(h), first.headers.get(h), h);
      }
      const plain = await fetch(`${broker.url}${JWKS}`);
      assert.match(plain.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/, 'a new id when none is given');
      const notModified = await fetch(`${broker.url}${JWKS}`, { headers: { 'if-none-match': `W/${first.headers.get('etag')}` } });
      assert.equal(notModified.status, 304);
      assert.equal(notModified.headers.get('etag'), first.headers.get('etag'));
      assert.equal(notModified.headers.get('content-type'), null);
      assert.equal(notModified.headers.get('content-length'), null);
      assert.equal(notModified.headers.get('x-frame-options'), 'DENY', 'the security headers on a 304 too');
      assert.equal(calls, 1);
      const lines = broker.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request' && l.reqId === 'again-2');
      assert.equal(lines.length, 1, 'the access line, as for any request');
      assert.equal(lines[0].route, '/api/v1/auth/tenants/:slug/oauth/.well-known/jwks.json');
      assert.equal(lines[0].tenant, 'acme');
    });

    it('goes through Koa again once the moment has passed', async () => {
      await fetch(`${broker.url}${JWKS}`);
      const before = calls;
      await new Promise((r) => setTimeout(r, MEMO_MS + 50));
      await fetch(`${broker.url}${JWKS}`);
      assert.equal(calls, before + 1);
    });

    it('keeps answers that vary on Host apart (/v1/auth/config per tenant host)', async () => {
      const acme = await getWithHost(`${broker.url}/v1/auth/config`, 'acme.localhost');
      const globex = await getWithHost(`${broker.url}/v1/auth/config`, 'globex.localhost');
      const acmeAgain = await getWithHost(`${broker.url}/v1/auth/config`, 'acme.localhost');
      assert.equal(acme.status, 200);
      assert.equal(globex.status, 200);
      assert.notDeepEqual(acme.body, globex.body);
      assert.deepEqual(acmeAgain.body, acme.body);
    });

    it('never keeps HEAD, POST or error answers', async () => {
      const head = await withHost('HEAD', `${broker.url}${JWKS}`, new URL(broker.url).host);
      assert.equal(head.status, 200);
      const missing = await fetch(`${broker.url}/api/v1/auth/tenants/nope/oauth/.well-known/jwks.json`);
      assert.equal(missing.status, 404);
      const again = await fetch(`${broker.url}/api/v1/auth/tenants/nope/oauth/.well-known/jwks.json`);
      assert.equal(again.status, 404);
      assert.equal(again.headers.get('content-type')?.startsWith('application/json'), true);
    });
  });

  it('never keeps an answer that sets a cookie (it is one browser\'s)', () => {
    const memo = new AnswerMemo();
    const req = { method: 'GET', url: '/x', headers: {} } as unknown as IncomingMessage;
    const body = Buffer.from('{}');
    memo.record(req, { 'content-type': 'application/json' }, body, '"e"', '/x');
    assert.ok(memo.find(req), 'a plain answer is kept');
    const other = { method: 'GET', url: '/y', headers: {} } as unknown as IncomingMessage;
    memo.record(other, { 'content-type': 'application/json', 'set-cookie': ['rb_bind=1; HttpOnly'] }, body, '"e"', '/y');
    assert.equal(memo.find(other), undefined);
  });
});
