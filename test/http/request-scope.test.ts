/**
 * What a request's scope keeps after the request (attack helper round 28): a rate limit's
 * window timer, started while serving it, keeps the scope as its async context for the window's
 * whole life; the scope's address reader held the request itself, so a flood from 30,000
 * addresses held 30,000 requests and responses for a minute (842 MB of heap in the helper's run).
 */
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RateLimits } from '../../src/http/rate-limit.js';
import { endScope, runInScope, type RequestScope } from '../../src/request-scope.js';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

describe('a request scope after its request', () => {
  it('keeps the client address, not the request it was read from, while a limit\'s window runs', async () => {
    const limits = new RateLimits({ prefix: 'scope-test:' });
    const limiter = limits.get({ name: 'scope-test', points: 5, windowSeconds: 60, what: 'tries' });
    let held: WeakRef<object> | undefined;
    await (async () => {
      const request = { socket: { remoteAddress: '203.0.113.7' }, body: 'x'.repeat(100_000) };
      held = new WeakRef(request);
      const scope: RequestScope = { requestId: 'r-1', upstreamMs: 0, address: () => request.socket.remoteAddress };
      await runInScope(scope, () => limiter.consume(scope.address!()));
      endScope(scope);
      assert.equal(scope.address!(), '203.0.113.7', 'the address is still there to read');
    })();
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      gc();
    }
    assert.equal(held!.deref(), undefined, 'the request is not held by the limit\'s timer');
  });
});
