/**
 * Issue 12: answers go out with their head in one write (send-json.ts `endInOneWrite`), as a
 * Latin-1 string of the answer's bytes. Whatever the bytes (UTF-8 text, or bytes that are
 * not UTF-8 at all, as a misbehaving upstream might send), the caller must get exactly them,
 * and as many as Content-Length says: in the direct lane's way of sending and in the memo's.
 */
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AnswerMemo, sendMemo } from '../../src/http/answer-memo.js';
import { asWritten, endInOneWrite } from '../../src/http/send-json.js';

const BYTES = Buffer.concat([
  Buffer.from('{"name":"Zoë Ærøskøbing 東京 🚀","scope":"openid"}', 'utf8'),
  Buffer.from([0x00, 0x7f, 0x80, 0xc3, 0xff, 0xfe]), // not UTF-8: passed on as they are
]);

function get(server: Server): Promise<{ headers: IncomingMessage['headers']; body: Buffer }> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/answer' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject).end();
  });
}

async function serve(listener: Parameters<typeof createServer>[1]): Promise<Server> {
  const server = createServer(listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

describe('answers in one write (issue 12)', () => {
  it('sends exactly the answer bytes, UTF-8 or not, as the direct lane sends them', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, ['Content-Type', 'application/json', 'Content-Length', String(BYTES.length)]);
      endInOneWrite(res, asWritten(BYTES));
    });
    try {
      const { headers, body } = await get(server);
      assert.equal(Number(headers['content-length']), BYTES.length);
      assert.deepEqual(body, BYTES);
    } finally {
      server.close();
    }
  });

  it('sends exactly the recorded bytes from the answer memo', async () => {
    const memo = new AnswerMemo();
    const server = await serve((req, res) => {
      const answer = memo.find(req);
      assert.ok(answer, 'recorded before the request');
      sendMemo(res, req, answer, 'req-1');
    });
    try {
      memo.record({ method: 'GET', url: '/answer', headers: {} } as IncomingMessage,
        { 'content-type': 'application/json', 'content-length': BYTES.length, etag: '"e"' }, BYTES, '"e"', '/answer');
      const { headers, body } = await get(server);
      assert.equal(Number(headers['content-length']), BYTES.length);
      assert.equal(headers['x-request-id'], 'req-1');
      assert.deepEqual(body, BYTES);
    } finally {
      server.close();
    }
  });
});
