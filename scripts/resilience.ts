/**
 * Fault figures: two broker replicas (processes) on a Redis of their own, behind a load
 * balancer, with a fault proxy in front of the real Keycloak. Under load it kills and
 * freezes Keycloak (at the proxy), kills Redis, and kills a replica in the middle of a
 * platform sign-in and of a device flow; it prints requests, answers by status, the
 * slowest answer, time to recover and RSS before and after.
 *
 *   npm run resilience                         (Keycloak must be running: npm run keycloak)
 *   RESILIENCE_FAULT_SECONDS=20 RESILIENCE_CONCURRENCY=32 npm run resilience
 *
 * Bounded: loopback only; each fault lasts RESILIENCE_FAULT_SECONDS (default 10) at
 * RESILIENCE_CONCURRENCY (default 16) request loops; UPSTREAM_TIMEOUT_MS (default 3000).
 */
import { Rig } from '../test/resilience/rig.js';
import { keycloakFrozen, keycloakKilled, printResult, redisKilled, replicaKilledDuringDeviceFlow, replicaKilledDuringSignIn } from '../test/resilience/scenarios.js';

const FAULT_MS = Number(process.env.RESILIENCE_FAULT_SECONDS ?? 10) * 1000;
const CONCURRENCY = Number(process.env.RESILIENCE_CONCURRENCY ?? 16);
const TIMEOUT_MS = Number(process.env.UPSTREAM_TIMEOUT_MS ?? 3000);
const only = process.env.RESILIENCE_ONLY?.split(',');

async function main() {
  const rig = await Rig.start({ upstreamTimeoutMs: TIMEOUT_MS });
  process.stdout.write(`replicas ${rig.replicas.map((r) => r.url).join(', ')} behind ${rig.url}; Keycloak through ${rig.keycloak.url}; Redis ${rig.redis.url}; UPSTREAM_TIMEOUT_MS=${TIMEOUT_MS}\n`);
  const timing = { beforeMs: 2000, faultMs: FAULT_MS, afterMs: 4000, concurrency: CONCURRENCY };
  const want = (name: string) => !only || only.includes(name);
  try {
    if (want('killed')) printResult(await keycloakKilled(rig, timing));
    if (want('frozen')) printResult(await keycloakFrozen(rig, timing));
    if (want('redis')) printResult(await redisKilled(rig, timing));
    if (want('signin')) {
      const t0 = performance.now();
      const tenant = await replicaKilledDuringSignIn(rig);
      process.stdout.write(`== replica killed during a platform sign-in: completed on the other replica (tenant ${tenant}) in ${Math.round(performance.now() - t0)} ms\n`);
      await rig.replaceDead();
    }
    if (want('device')) {
      const t0 = performance.now();
      const user = await replicaKilledDuringDeviceFlow(rig);
      process.stdout.write(`== replica killed during a device flow: the device got ${user}'s tokens from the other replica in ${Math.round(performance.now() - t0)} ms\n`);
      await rig.replaceDead();
    }
  } finally {
    await rig.close();
  }
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`resilience run failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
