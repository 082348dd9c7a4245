/** The breaker's states on their own: open, refuse, probe, close, and a late answer racing a probe. */
import assert from 'node:assert/strict';
import { BrokerError } from '../../src/errors.js';
import { CircuitBreaker, type BreakerChange } from '../../src/upstream/circuit-breaker.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function breaker(probe: () => Promise<void>) {
  const changes: BreakerChange[] = [];
  const b = new CircuitBreaker('x', { probe, probeIntervalMs: 10, onChange: (c) => changes.push(c) });
  return { b, changes };
}

describe('circuit breaker states', () => {
  it('opens after three failures in a row (an answer in between resets the count), refuses, and closes on a good probe', async () => {
    let up = false;
    const { b, changes } = breaker(async () => { if (!up) throw new Error('down'); });
    b.failed('refused'); b.failed('refused'); b.succeeded(); b.failed('refused'); b.failed('refused');
    assert.equal(b.snapshot().state, 'closed');
    b.failed('refused');
    assert.equal(b.snapshot().state, 'open');
    assert.throws(() => b.admit(), (err: unknown) => err instanceof BrokerError && err.status === 503 && err.retryAfter === 1);
    await sleep(50);
    assert.notEqual(b.snapshot().state, 'closed', 'failed probes keep it open');
    up = true;
    await sleep(50);
    assert.equal(b.snapshot().state, 'closed');
    b.admit();
    assert.deepEqual(changes.map((c) => c.state), ['down', 'back']);
    assert.equal(changes[1]!.failures, 4, 'the failures of the outage: three that opened it, one refused');
    b.stop();
  });

  it('a late answer closes it once; the probe then in flight changes nothing', async () => {
    let release!: () => void;
    const { b, changes } = breaker(() => new Promise<void>((_resolve, reject) => { release = () => reject(new Error('late')); }));
    for (let i = 0; i < 3; i++) b.failed('no answer in time');
    await sleep(30); // a probe is in flight
    assert.equal(b.snapshot().state, 'half-open');
    b.succeeded(); // a call from before the freeze got its answer
    release(); // the probe fails afterwards: it must not reopen the breaker
    await sleep(20);
    assert.equal(b.snapshot().state, 'closed');
    assert.deepEqual(changes.map((c) => c.state), ['down', 'back']);
    b.stop();
  });

  // Attack of 2026-12-06: a realm admin's LDAP that never answers made that realm's calls time
  // out, three at once opened the breaker, and every realm of the server was refused.
  it('a timeout counts only if the server does not answer its own probe either', async () => {
    let up = true;
    let probes = 0;
    const { b, changes } = breaker(async () => { probes++; if (!up) throw new Error('down'); });
    for (let i = 0; i < 6; i++) b.timedOut('no answer in time');
    await sleep(20);
    assert.equal(b.snapshot().state, 'closed', 'the server answered: one realm was slow');
    assert.equal(probes, 1, 'one probe for the timeouts at once');
    up = false;
    for (let i = 0; i < 3; i++) b.timedOut('no answer in time');
    await sleep(5);
    assert.notEqual(b.snapshot().state, 'closed', 'the server did not answer either: down');
    assert.equal(changes[0]?.reason, 'no answer in time');
    b.stop();
  });
});
