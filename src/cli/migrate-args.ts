/** The command line of `migrate` (node:util parseArgs), kept apart so a future single CLI can reuse it. */
import { parseArgs } from 'node:util';
import type { MigrateOptions } from './migrate.js';
import { MigrationError } from './migrate/migration-error.js';

export const MIGRATE_USAGE = `usage:
  npm run migrate -- <tenant> --to <upstream>[/<realm>] [--dry-run] [--from-file <export.json>]
  npm run migrate -- <tenant> --rollback
  npm run migrate -- <tenant> --retire [--force]
with the brokers' environment (CONFIG_FILE, REDIS_URL, STORE_PREFIX, admin secrets).`;

export function parseMigrateArgs(argv: string[]): MigrateOptions & { help?: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        to: { type: 'string' },
        'dry-run': { type: 'boolean' },
        'from-file': { type: 'string' },
        rollback: { type: 'boolean' },
        retire: { type: 'boolean' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new MigrationError(`${(err as Error).message}\n${MIGRATE_USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { tenant: '', help: true };
  if (positionals.length !== 1) throw new MigrationError(`name one tenant\n${MIGRATE_USAGE}`);
  return {
    tenant: positionals[0]!,
    to: values.to,
    dryRun: values['dry-run'],
    fromFile: values['from-file'],
    rollback: values.rollback,
    retire: values.retire,
    force: values.force,
  };
}
