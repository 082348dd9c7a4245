/**
 * Logging failures: an outage's thousands of failed requests give one sample line per
 * code per window (with the count of the rest), while a 5xx that is a bug logs every time.
 */
import assert from 'node:assert/strict';
import { BrokerError } from '../../src/errors.js';
import { createLogger } from '../../src/http/logger.js';
import { FailureLog, logUpstreamChange } from '../../src/http/upstream-failure-log.js';

function capture() {
  const lines: Record<string, any>[] = [];
  return { lines, log: createLogger('debug', { write: (l) => lines.push(JSON.parse(l)) }) };
}

describe('logging upstream failures', () => {
  it('one sample line per code per window, then the count of the rest', () => {
    const { lines, log } = capture();
    let clock = 0;
    const failures = new FailureLog(log, 10_000, () => clock);
    const cause = new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    for (let i = 0; i < 10_000; i++) failures.serverError(new BrokerError('upstream_unavailable', 'Keycloak is unreachable', { cause }), cause);
    failures.serverError(new BrokerError('upstream_timeout', 'Keycloak did not answer in time'), undefined);
    assert.equal(lines.length, 2);
    assert.equal(lines[0]!.level, 'warn');
    assert.equal(lines[0]!.code, 'upstream_unavailable');
    assert.equal(lines[0]!.err.message, 'fetch failed', 'the sample keeps its cause');
    clock += 10_000;
    failures.serverError(new BrokerError('upstream_unavailable', 'Keycloak is unreachable'), undefined);
    assert.equal(lines.length, 3);
    assert.equal(lines[2]!.suppressed, 9_999);
  });

  it('a 5xx that is not an upstream failure logs every time, as an error', () => {
    const { lines, log } = capture();
    const failures = new FailureLog(log);
    for (let i = 0; i < 3; i++) failures.serverError(new BrokerError('server_error', 'Internal server error'), new Error('a bug'));
    assert.equal(lines.length, 3);
    assert.ok(lines.every((l) => l.level === 'error' && l.err.message === 'a bug'));
  });

  it('an upstream goes down and comes back in two lines, the second with the count', () => {
    const { lines, log } = capture();
    const change = logUpstreamChange(log);
    change({ upstream: 'default', state: 'down', reason: 'fetch failed (ECONNREFUSED)' });
    change({ upstream: 'default', state: 'back', downMs: 1234, failures: 22_669 });
    assert.deepEqual(lines.map((l) => [l.level, l.msg]), [['error', 'upstream default down (fetch failed (ECONNREFUSED))'], ['warn', 'upstream default back']]);
    assert.equal(lines[1]!.failures, 22_669);
  });
});
