/**
 * The container's health check (the image has no shell or curl): asks the management
 * listener's /healthz where the broker has one, else the public port's liveness route (with
 * MANAGEMENT_PORT=-1 it asked 9464, where nothing of this broker listens: round 27), at the
 * host each listens on (a wildcard address is asked on loopback). Exits 0 when it answers 200.
 */
const env = process.env;
const set = (name: string) => (env[name] ? env[name] : undefined);
const reachable = (host: string | undefined) => (!host || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host);

const management = set('MANAGEMENT_PORT') ?? '9464';
const url = management === '-1'
  ? `http://${reachable(set('HOST'))}:${set('PORT') ?? '3000'}/auth/api/v1/healthz`
  : `http://${reachable(set('MANAGEMENT_HOST') ?? set('HOST'))}:${management}/healthz`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
