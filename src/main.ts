/**
 * Starts the broker: config (every problem listed, exit 1), store, app, listen.
 * Keycloak may still be starting: the broker serves anyway and answers 503 until
 * it can reach it. SIGTERM/SIGINT close the server and the store gracefully.
 */
import type { AddressInfo } from 'node:net';
import { buildListener } from './app.js';
import { configCautions, ConfigError, loadConfig } from './config/load.js';
import { createLogger, logsWritten } from './http/logger.js';
import { createBrokerServer, createManagementServer } from './http/server.js';
import { buildManagementApp } from './metrics/management.js';
import { wire } from './wire.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, { pretty: config.mode === 'dev' && process.stdout.isTTY, bufferBytes: config.logBufferBytes });
  // The last resort: a rejection no code handled is a defect of ours, logged, and one request's
  // (or one background task's) failure, not the end of every request in flight (Node's default).
  process.on('unhandledRejection', (reason) => log.error('a promise failed with no handler (a defect: please report it); the broker goes on', { err: reason }));
  const deps = await wire(config, log);
  const server = createBrokerServer(buildListener(deps).listener, config).listen(config.port, config.host);
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  const management = config.managementPort >= 0 ? createManagementServer(buildManagementApp(deps).callback(), config).listen(config.managementPort, config.managementHost) : undefined;
  management?.on('error', (err) => log.error('the management listener could not start', { err, port: config.managementPort }));
  management?.on('listening', () => log.info('management listener (/metrics, /healthz, /readyz)', { managementPort: (management.address() as AddressInfo).port }));
  if (config.mode === 'dev') {
    log.warn('DEV MODE: demo secrets fill every unset secret, and the tenant header is on. Never expose this broker; production is the default without "mode": "dev".');
  }
  for (const caution of configCautions(config)) log.warn(`CAUTION: ${caution}`);
  if (deps.signingKeys.storesPlaintext) log.warn('DEV MODE: the broker signing keys are kept unencrypted in the store (set BROKER_KEY_ENCRYPTION_KEY)');
  log.info('realm-broker listening', { url: config.publicUrl, port, store: deps.store.kind, upstreams: config.upstreams.map((u) => u.url) });
  deps.tenants.all().then(
    (t) => log.info('tenants loaded', { tenants: t.map((x) => x.slug) }),
    (err) => log.warn('tenants not loaded yet (Keycloak unreachable?)', { err }),
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    management?.close();
    server.close(() => {
      deps.store.close().finally(() => logsWritten().then(() => process.exit(0)));
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`realm-broker failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
