/** CLI: npm run migrate -- <tenant> --to <upstream>[/<realm>] … See src/cli/migrate.ts. */
import { migrate, MigrationError } from '../src/cli/migrate.js';
import { MIGRATE_USAGE, parseMigrateArgs } from '../src/cli/migrate-args.js';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/http/logger.js';
import { createStore } from '../src/store/create-store.js';
import { wire } from '../src/wire.js';

try {
  const opts = parseMigrateArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(MIGRATE_USAGE);
    process.exit(0);
  }
  const config = loadConfig();
  const store = await createStore(config.store);
  if (store.kind === 'redis') await store.ping();
  const deps = await wire(config, createLogger('warn'), store);
  const result = await migrate({ ...deps, say: (line) => console.log(line) }, opts);
  const t = result.timings;
  console.log(`${result.action}: ${result.tenant} ${result.from.upstream}/${result.from.realm} → ${result.to.upstream}/${result.to.realm}` +
    ` (export ${t.exportMs ?? '-'} ms, import ${t.importMs ?? '-'} ms, verify ${t.verifyMs ?? '-'} ms)`);
  if (result.exportFile) console.log(`the export is kept at ${result.exportFile} (secrets and password hashes: keep it safe or delete it)`);
  if (result.configHint) console.log(result.configHint);
  await store.close();
  process.exit(0);
} catch (err) {
  console.error(err instanceof MigrationError ? `migrate: ${err.message}` : `migrate failed: ${(err as Error).stack}`);
  process.exit(1);
}
