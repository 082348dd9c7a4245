/**
 * The fault suite, short: the scenarios of `npm run resilience` (two replicas as processes
 * on a Redis of their own, behind a balancer, Keycloak through a fault proxy) with a few
 * seconds of fault each, and assertions on their figures. The figures are printed.
 */
import assert from 'node:assert/strict';
import { Rig } from './rig.js';
import { keycloakFrozen, keycloakKilled, printResult, redisKilled, replicaKilledDuringDeviceFlow, replicaKilledDuringSignIn, type Result } from './scenarios.js';

const TIMEOUT_MS = 2000;
const timing = { beforeMs: 1000, faultMs: 3000, afterMs: 2500, concurrency: 8 };

/** What every outage must keep: no bug answers, nothing slower than the bound, a quick return. */
function assertHeld(r: Result, recoveryBoundMs: number): void {
  assert.equal(r.overall.byStatus['500'], undefined, 'no 500');
  assert.equal(r.overall.byStatus['0'], undefined, 'every request was answered');
  assert.ok(r.overall.slowestMs <= TIMEOUT_MS + 500, `slowest ${r.overall.slowestMs} ms; the bound is ${TIMEOUT_MS} ms + 500`);
  assert.ok(r.recoveryMs !== undefined && r.recoveryMs <= recoveryBoundMs, `recovered after ${r.recoveryMs} ms`);
  r.rssBeforeMb.forEach((before, i) => assert.ok(r.rssAfterMb[i]! - before < 150, `RSS grew from ${before.toFixed(0)} to ${r.rssAfterMb[i]!.toFixed(0)} MB`));
  assertQuietLog(r);
}

/**
 * An outage is told, not echoed: each replica says each thing at most twice (a breaker that
 * opens again on a probe, a sample window that turns) whatever the request rate. A total
 * count of lines failed on lines that had nothing to do with the fault (other realms' warnings).
 */
function assertQuietLog(r: Result): void {
  r.logMessages.forEach((lines, i) => {
    for (const [line, n] of Object.entries(lines)) assert.ok(n <= 2, `replica ${i} logged ${n} × ${line}`);
  });
}

describe('resilience: faults under load (two replicas, real Keycloak behind a fault proxy)', function () {
  this.timeout(120_000);
  let rig: Rig;
  before(async () => { rig = await Rig.start({ upstreamTimeoutMs: TIMEOUT_MS, platform: { deviceIntervalSeconds: 1 } }); });
  after(() => rig?.close());

  it('Keycloak killed: 503 at once, one "down" and one "back" line per replica, back within 2 s', async () => {
    const r = await keycloakKilled(rig, timing);
    printResult(r);
    assertHeld(r, 2000);
    for (const status of Object.keys(r.duringFault.byStatus)) assert.ok(['200', '503'].includes(status), `during the outage: ${status}`);
    assert.ok((r.duringFault.byStatus['503'] ?? 0) > 0);
    for (const lines of r.logMessages) assert.ok(Object.keys(lines).some((l) => /^error upstream \S+ down/.test(l)) && Object.keys(lines).some((l) => /^warn upstream \S+ back/.test(l)), JSON.stringify(lines));
  });

  it('Keycloak frozen: no answer slower than the timeout, then fast 503s, back within 2 s of the thaw', async () => {
    // Long enough for a second round of timeouts at this low load: the breaker then opens.
    const r = await keycloakFrozen(rig, { ...timing, faultMs: 5000 });
    printResult(r);
    assertHeld(r, 2000);
    for (const status of Object.keys(r.duringFault.byStatus)) assert.ok(['200', '503', '504'].includes(status), `during the freeze: ${status}`);
    // The breaker opens after the first few time out: most answers during the freeze are fast.
    assert.ok((r.duringFault.byStatus['503'] ?? 0) > (r.duringFault.byStatus['504'] ?? 0), JSON.stringify(r.duringFault.byStatus));
  });

  it('Redis killed: state endpoints 503, local ones keep serving, back by itself', async () => {
    const r = await redisKilled(rig, timing);
    printResult(r);
    // ioredis reconnects with a backoff of up to 2 s: a little more than Keycloak's bound.
    assertHeld(r, 2500);
    assert.deepEqual(Object.keys(r.duringFault.byStatus), ['503']);
    assert.deepEqual(Object.keys(r.localDuringFault.byStatus), ['200']);
    assert.ok((r.logLevels.error ?? 0) <= 2, `error lines: ${r.logLevels.error}`);
  });

  it('a replica killed in the middle of a platform sign-in: the other one completes it', async () => {
    assert.equal(await replicaKilledDuringSignIn(rig), 'acme');
    await rig.replaceDead();
  });

  it('a replica killed in the middle of a device flow: the other one completes it', async () => {
    assert.equal(await replicaKilledDuringDeviceFlow(rig), 'alice@acme.example');
    await rig.replaceDead();
  });
});
