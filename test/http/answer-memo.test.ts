/**
 * The memo of local answers is bounded by what it holds, not only by counts (attack helper,
 * 2026-12-06): 2,000 query strings × 50 long Origins made it hold 0.6–2 GB of a broker's heap,
 * until a broker with a 1 GiB heap died. A unit of the memo itself (no server needed).
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { AnswerMemo, MAX_MEMO_CHARS } from '../../src/http/answer-memo.js';

const request = (url: string, origin = ''): IncomingMessage => ({ method: 'GET', url, headers: { origin } }) as unknown as IncomingMessage;
const body = Buffer.alloc(32 * 1024, 'k');
const headers = { 'content-type': 'application/json', 'content-length': String(body.length), vary: 'Origin', etag: '"e"' };

describe('the memo of local answers', () => {
  it('holds at most MAX_MEMO_CHARS of bodies and varied-on values: past that, it starts again', () => {
    const memo = new AnswerMemo(60_000);
    const first = request('/api/v1/platform/.well-known/jwks.json', 'https://o0.example');
    memo.record(first, headers, body, '"e"', '/jwks');
    assert.ok(memo.find(first), 'recorded');
    // 40 paths × 50 origins of 4 KiB, each with a 32 KiB body: about 70 MB if nothing bounded it.
    const origin = (i: number) => `https://o${i}.example/${'x'.repeat(4096)}`;
    let held = 0;
    for (let u = 0; u < 40; u++) {
      for (let o = 0; o < 50; o++) memo.record(request(`/p${u}`, origin(o)), headers, body, '"e"', '/p');
    }
    for (let u = 0; u < 40; u++) for (let o = 0; o < 50; o++) if (memo.find(request(`/p${u}`, origin(o)))) held++;
    assert.equal(memo.find(first), undefined, 'the first answer was let go');
    assert.ok(held * (body.length + 4096) <= MAX_MEMO_CHARS, `held ${held} answers`);
    assert.ok(held > 0, 'the latest are still served from the memo');
  });

  it('does not record a URL with a query string (the caller\'s to vary)', () => {
    const memo = new AnswerMemo(60_000);
    const req = request('/api/v1/platform/.well-known/jwks.json?u=1');
    memo.record(req, headers, body, '"e"', '/jwks');
    assert.equal(memo.find(req), undefined);
  });
});
