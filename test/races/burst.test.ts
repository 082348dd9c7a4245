/**
 * The burst helper really sends its requests at once: a server that holds each request
 * until all N have arrived answers all of them (a sequential or pooled sender would
 * time out), and every answer is read back in request order.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { burst } from '../helpers/burst.js';

describe('Races: the burst helper', () => {
  it('delivers N requests concurrently, with bodies, and returns their statuses in order', async () => {
    const n = 50;
    const waiting: (() => void)[] = [];
    let bodies = 0;
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        if (new URLSearchParams(body).get('i') === new URL(req.url!, 'http://x').searchParams.get('i')) bodies++;
        const answer = () => { res.statusCode = 200 + Number(new URL(req.url!, 'http://x').searchParams.get('i')); res.end('{"ok":true}'); };
        waiting.push(answer);
        // Nobody is answered before the N-th request is in.
        if (waiting.length === n) for (const a of waiting) a();
      });
    });
    server.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const result = await burst(`http://127.0.0.1:${port}/`, n, (i) => ({ method: 'POST', path: `/x?i=${i}`, form: { i: String(i) } }), { timeoutMs: 10_000 });
      assert.deepEqual(result.statuses, Array.from({ length: n }, (_, i) => 200 + i));
      assert.equal(bodies, n);
      assert.deepEqual(result.answers[0]!.json, { ok: true });
    } finally {
      server.close();
    }
  });
});
