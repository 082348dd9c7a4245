/**
 * The container's health check (the image has no shell or curl): asks the management
 * listener's /healthz, exits 0 when it answers 200.
 */
const port = process.env.MANAGEMENT_PORT && process.env.MANAGEMENT_PORT !== '-1' ? process.env.MANAGEMENT_PORT : '9464';
try {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
