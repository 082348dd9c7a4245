/** CLI: npm run sync-apps [-- --dry-run]. See src/cli/sync-apps.ts. */
import { syncApps } from '../src/cli/sync-apps.js';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/http/logger.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { wire } from '../src/wire.js';

const dryRun = process.argv.includes('--dry-run');
try {
  const config = loadConfig();
  const deps = await wire(config, createLogger('warn'), new MemoryStore());
  const results = await syncApps(deps, dryRun);
  for (const r of results) console.log(`${dryRun ? '(dry run) ' : ''}${r.action.padEnd(9)} ${r.clientId} in ${r.tenant}`);
  process.exit(0);
} catch (err) {
  console.error(`sync-apps failed: ${(err as Error).message}`);
  process.exit(1);
}
