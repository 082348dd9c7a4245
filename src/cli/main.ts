/**
 * `realm-broker`: the operator's commands, on commander (a maintained parser with
 * generated --help for every command). Every command reads the broker's configuration
 * the way the broker does (environment and CONFIG_FILE).
 *
 * Exit codes: 0 done; 1 failed (a problem the output names; also a listing or sync that
 * could not reach every upstream); 2 bad usage (commander's, `migrate` without exactly one
 * mode, `discover` of no address); 3 not found (`tenants show`/`release`, `discover` with no
 * tenant, `sync-apps --tenant` of an unknown slug). `--json` prints one JSON document on
 * stdout for scripts.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { BrokerError } from '../errors.js';
import { Command, CommanderError } from 'commander';
import { configCautions, ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Deps } from '../deps.js';
import { createLogger } from '../http/logger.js';
import { createStore } from '../store/create-store.js';
import { DryRunStore } from '../store/dry-run-store.js';
import type { Tenant } from '../tenancy/tenant.js';
import { wire } from '../wire.js';
import { discover, inWords } from './discover.js';
import { migrate } from './migrate.js';
import { MigrationError, MigrationUsageError } from './migrate/migration-error.js';
import { syncApps, UnknownTenantError } from './sync-apps.js';
import { StandingRealms } from '../tenancy/standing-realms.js';
import { printable, printableLines } from './printable.js';
import { tolerateClosedPipes } from './closed-pipes.js';

class Exit extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** The innermost error of a chain of causes (the store's own words under the broker's). */
function rootCause(err: unknown): Error | undefined {
  let at = err as Error | undefined;
  while (at?.cause instanceof Error) at = at.cause;
  return at;
}

/** Why the shared store could not be reached at connect (WRONGPASS, ECONNREFUSED…), said with a store failure. */
let storeDown: Error | undefined;

/**
 * The broker's parts, over the brokers' own store (Redis when REDIS_URL is set): where tenants
 * stand and where a migration moved them live there, and a command that routed by config alone
 * showed, discovered at, and synced apps into the realm a tenant had left (review, 2026-12-07).
 * Seen through a dry-run view (reads, and no write reaches the brokers) unless `writes`, for the
 * commands that change shared state. A store that cannot be reached is exit 1: what the
 * brokers route by cannot be told without it.
 */
async function parts(opts: { writes?: boolean; dryRun?: boolean } = {}): Promise<Deps> {
  const config = loadConfig();
  const shared = await createStore(config.store, (err) => { storeDown = err as Error; });
  if (storeDown && !opts.writes) {
    await shared.close().catch(() => {});
    throw new Exit(1, `the brokers' store (REDIS_URL) is unreachable (${storeDown.message}): where tenants live after a migration is kept there`);
  }
  // A dry run reads the brokers' store and writes nothing there (dry-run-store.ts).
  const store = opts.dryRun || !opts.writes ? new DryRunStore(shared) : shared;
  return wire(config, createLogger('error'), store);
}

/** The parts for `keys`: the keys the brokers sign with are in their shared store, or in no place a command can reach. */
async function keyParts(): Promise<Deps> {
  const deps = await parts({ writes: true });
  if (deps.store.kind !== 'redis') {
    await deps.store.close();
    throw new Exit(1, 'the signing keys are kept in the brokers\' shared store: set REDIS_URL (and STORE_PREFIX) as the brokers have them. A broker with the memory store makes its own key at start: restart it to replace its key');
  }
  return deps;
}

/** Whether the command has printed its output (with --json: its one document). */
let printed = false;

function print(json: boolean, value: unknown, text: () => string): void {
  printed = true;
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${printableLines(text())}\n`);
}

/**
 * Names each upstream that could not be reached on stderr, and fails (exit 1) after what
 * was found is printed: a list that leaves an upstream's tenants out must not pass for whole.
 */
function failOnUnreachable(unreachable: Map<string, unknown>, what: string): void {
  if (!unreachable.size) return;
  for (const [name, err] of unreachable) {
    process.stderr.write(`upstream ${name} is unreachable (${(err as Error)?.message ?? String(err)}): ${what}\n`);
  }
  throw new Exit(1, `incomplete: ${unreachable.size} upstream(s) unreachable (${[...unreachable.keys()].join(', ')})`);
}

const tenantView = (t: Tenant) => ({
  slug: t.slug, id: t.id, realm: t.realm, upstream: t.upstream, issuer: t.issuer, displayName: t.displayName,
  emailDomains: t.emailDomains, passwordGrantEnabled: t.features.passwordGrantEnabled, aliasIds: t.aliasIds,
});

export function buildCli(): Command {
  const program = new Command('realm-broker')
    .description('One stable identity API in front of Keycloak realms: operator commands')
    .showHelpAfterError()
    .exitOverride();

  const tenants = program.command('tenants').description('the tenants the broker serves (from every upstream, with config overrides)');
  tenants.command('list').description('list every tenant').option('--json', 'JSON output').action(async (o: { json?: boolean }) => {
    const deps = await parts();
    const { tenants: found, unavailable } = await deps.tenants.coverage();
    const all = found.map(tenantView);
    print(!!o.json, all, () => all.map((t) => printable(`${t.slug.padEnd(16)} ${t.id}  ${t.upstream}/${t.realm}  ${t.emailDomains.join(',')}`)).join('\n'));
    failOnUnreachable(unavailable, 'its tenants are not listed');
  });
  tenants.command('show').description('one tenant, by slug or realm UUID').argument('<slug-or-uuid>').option('--json', 'JSON output')
    .action(async (key: string, o: { json?: boolean }) => {
      const deps = await parts();
      const t = (await deps.tenants.bySlug(key)) ?? (await deps.tenants.byId(key));
      if (!t) throw new Exit(3, `no tenant ${key}`);
      const v = tenantView(t);
      print(!!o.json, v, () => Object.entries(v).map(([k, x]) => `${k.padEnd(20)} ${printable(Array.isArray(x) ? x.join(', ') : String(x))}`).join('\n'));
    });

  tenants.command('release').description('let a realm of another id serve a tenant\'s name at once, its realm being gone for good (not waiting for TENANT_HOLD_HOURS), on the shared store')
    .argument('<slug>').option('--json', 'JSON output')
    .option('--force', 'release though its realm is still listed (under any name), or an upstream cannot be read')
    .action(async (slug: string, o: { json?: boolean; force?: boolean }) => {
      // Listing the realms records where tenants stand: the checks read through a dry-run view,
      // and only the release itself writes.
      const deps = await parts({ writes: true, dryRun: true });
      try {
        const recorded = (await new StandingRealms(deps.store).read())[slug];
        if (!recorded) throw new Exit(3, `no tenant ${slug} is recorded`);
        // For a realm gone for good: one that is still there (under any name) keeps its tenant,
        // and a release would only unsettle it (round 29: a live tenant was released, exit 0).
        const { tenants: found, unavailable } = await deps.tenants.coverage();
        const still = found.find((t) => t.id === recorded.id);
        if (!o.force && still) throw new Exit(1, `the realm of ${printable(slug)} (id ${printable(recorded.id)}) is still on ${still.upstream}, as ${printable(still.realm)}: nothing to release (--force to release anyway)`);
        if (!o.force && unavailable.size) throw new Exit(1, `upstream(s) ${[...unavailable.keys()].join(', ')} cannot be read: whether the realm of ${slug} (id ${recorded.id}) is gone cannot be told (--force to release anyway)`);
        const was = await new StandingRealms((deps.store as DryRunStore).shared).release(slug);
        if (!was) throw new Exit(3, `no tenant ${slug} is recorded`);
        print(!!o.json, { released: slug, was }, () => `released ${printable(slug)} (it stood on ${was.upstream}, realm id ${printable(was.id)}); replicas let another realm of that name serve it at their next refresh`);
      } finally {
        await deps.store.close();
      }
    });

  program.command('discover').description('which tenant(s) the platform sign-in would offer for an email address (for support staff)')
    .argument('<email>').option('--json', 'JSON output')
    .action(async (email: string, o: { json?: boolean }) => {
      // Not an address is bad usage (2), not "no tenant" (3): one @ between two non-empty parts.
      if (!/^[^@\s]+@[^@\s]+$/.test(email.trim())) throw new Exit(2, `discover: "${email}" is not an email address`);
      const found = await discover(await parts(), email);
      print(!!o.json, found, () => inWords(found));
      if (!found.tenants.length) throw new Exit(3, '');
    });

  program.command('sync-apps').description('create or update the GLOBAL apps of the registry in every tenant realm')
    .option('--dry-run', 'say what would change, change nothing').option('--json', 'JSON output')
    .option('--tenant <slug...>', 'only these tenants (a new tenant\'s realm)')
    .action(async (o: { dryRun?: boolean; json?: boolean; tenant?: string[] }) => {
      const report = await syncApps(await parts(), !!o.dryRun, o.tenant).catch((err: unknown) => {
        throw err instanceof UnknownTenantError ? new Exit(3, err.message) : err;
      });
      const { results } = report;
      print(!!o.json, results, () => results.map((r) => `${o.dryRun ? '(dry run) ' : ''}${r.action.padEnd(9)} ${printable(r.clientId)} in ${printable(r.tenant)}${r.reason ? `: ${printable(r.reason)}` : ''}`).join('\n') || 'no GLOBAL apps');
      failOnUnreachable(report.unreachable, `the realms of its tenants were ${o.dryRun ? 'not checked' : 'not synced'}`);
      const failed = results.filter((r) => r.action === 'failed');
      if (failed.length) throw new Exit(1, `${failed.length} client(s) not synced: ${failed.map((r) => `${printable(r.clientId)} in ${printable(r.tenant)}`).join(', ')}`);
    });

  const config = program.command('config').description('the configuration');
  config.command('check').description('validate the configuration (environment and CONFIG_FILE), listing every problem')
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }) => {
      let parsed: Config;
      try {
        parsed = loadConfig();
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        print(!!o.json, { ok: false, problems: err.problems }, () => err.message);
        throw new Exit(1, '');
      }
      const cautions = configCautions(parsed);
      const summary = { ok: true, mode: parsed.mode, publicUrl: parsed.publicUrl, upstreams: parsed.upstreams.map((u) => u.name), store: parsed.store.redisUrl ? 'redis' : 'memory', cautions };
      print(!!o.json, summary, () => [
        `configuration is valid (${parsed.mode} mode, ${summary.upstreams.length} upstream(s), ${summary.store} store)`,
        ...cautions.map((c) => `caution: ${c}`),
      ].join('\n'));
    });

  program.command('migrate').description('move a tenant to another Keycloak server or realm (README "Moving a tenant")')
    .argument('<tenant>', 'the tenant\'s slug')
    .option('--to <upstream[/realm]>', 'copy the realm there, verify it, switch every replica live')
    .option('--dry-run', 'with any mode: say what would be copied, switched or deleted; change nothing')
    .option('--from-file <export.json>', 'take the realm from a kc.sh export file instead of the live source (checked against the live source first)')
    .option('--rollback', 'switch back to the realm the tenant left (until it is retired)')
    .option('--retire', 'delete the realm the tenant left, once its tokens have expired')
    .option('--close', 'close the realm the tenant left to new sign-ins (its sessions go on; --rollback opens it again)')
    .option('--force', 'with --retire: before the old tokens\' lifetime has passed; with --from-file: a file with fewer users or clients than the live source, or one that cannot be compared with it')
    .option('--keep-export', 'with --dry-run: keep the live export (deleted otherwise: it holds secrets and password hashes)')
    .option('--json', 'JSON output')
    .action(async (tenant: string, o: { to?: string; dryRun?: boolean; fromFile?: string; rollback?: boolean; retire?: boolean; close?: boolean; force?: boolean; keepExport?: boolean; json?: boolean }) => {
      const deps = await parts({ writes: true, dryRun: o.dryRun });
      try {
        if (deps.store.kind === 'redis') await deps.store.ping();
        const result = await migrate({ ...deps, say: (line) => { if (!o.json) process.stdout.write(`${printableLines(line)}\n`); } }, {
          tenant, to: o.to, dryRun: o.dryRun, fromFile: o.fromFile, rollback: o.rollback, retire: o.retire, close: o.close, force: o.force, keepExport: o.keepExport,
        });
        const t = result.timings;
        print(!!o.json, result, () => [
          `${result.action}: ${printable(result.tenant)} ${result.from.upstream}/${printable(result.from.realm)} → ${result.to.upstream}/${printable(result.to.realm)}`
            // Only a move exports, imports and verifies.
            + (o.to !== undefined ? ` (export ${t.exportMs ?? '-'} ms, import ${t.importMs ?? '-'} ms, verify ${t.verifyMs ?? '-'} ms)` : ''),
          result.exportFile ? `the export is kept at ${result.exportFile}, in a directory of its own (mode 0700; secrets and password hashes: keep it safe, or delete it with its directory)` : '',
          result.configHint ?? '',
        ].filter(Boolean).join('\n'));
      } catch (err) {
        if (err instanceof MigrationError) throw new Exit(err instanceof MigrationUsageError ? 2 : 1, `migrate: ${err.message}`);
        throw err;
      } finally {
        await deps.store.close();
      }
    });

  const keys = program.command('keys').description('the broker\'s ID-token signing keys (in the shared store)');
  keys.command('list').description('the keys, when each signs and retires').option('--json', 'JSON output').action(async (o: { json?: boolean }) => {
    const deps = await keyParts();
    try {
      const list = await deps.signingKeys.list();
      print(!!o.json, list, () => list.map((k) => `${k.kid}  signs from ${k.activeFrom.toISOString()}${k.retireAt ? `  retires ${k.retireAt.toISOString()}` : ''}${k.encrypted ? '' : '  (unencrypted)'}`).join('\n')
        || 'no keys yet: the first broker to sign an ID token makes one (or run keys rotate)');
    } finally {
      await deps.store.close();
    }
  });
  keys.command('rotate').description('add a new signing key: published now, signing after the publish delay; the old one retires after the last ID token it signed')
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }) => {
      const deps = await keyParts();
      try {
        const r = await deps.signingKeys.rotate();
        print(!!o.json, r, () => `new key ${r.newKid} signs from ${r.activeFrom.toISOString()}\n${r.retiring.map((k) => `${k.kid} retires ${k.retireAt.toISOString()}`).join('\n')}`);
      } finally {
        await deps.store.close();
      }
    });
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  tolerateClosedPipes();
  printed = false;
  try {
    await buildCli().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    const { code, message } = failureOf(err);
    // --help and --version end here too, with exit code 0.
    if (code === 0) return 0;
    // commander has said what was wrong with the usage itself.
    if (message && !(err instanceof CommanderError)) process.stderr.write(`${printableLines(message)}\n`);
    // With --json, stdout holds one JSON document whatever happened: a script parsing it got
    // nothing on a refusal (a migration's, say: attack round 51), and had to read stderr's text.
    // A command that printed its document before failing (a partial listing) has said it.
    if (!printed && argv.some((a) => a === '--json' || a.startsWith('--json='))) process.stdout.write(`${JSON.stringify({ ok: false, exitCode: code, error: message || undefined })}\n`);
    return code;
  }
}

/** The exit code and the words of a failure (empty: the output has said it). */
function failureOf(err: unknown): { code: number; message: string } {
  if (err instanceof CommanderError) {
    // commander's help shown for a command named wrongly or without its subcommand says "(outputHelp)".
    const message = err.code === 'commander.help' ? 'bad usage: the help on stderr lists the commands and options' : err.message.replace(/^error: /, '');
    return { code: err.exitCode === 0 ? 0 : 2, message };
  }
  // Errors name realms, users and clients a realm's admin named (a migration's comparison):
  // written as the rest of the output is (printable.ts; review, 2026-12-07).
  if (err instanceof Exit) return { code: err.code, message: err.message };
  if (err instanceof ConfigError) return { code: 1, message: err.message };
  // The store's refusal says why (WRONGPASS, NOAUTH, ECONNREFUSED…): an operator at a terminal
  // needs that, where a caller of the API gets the generic message (round 27).
  const cause = err instanceof BrokerError && err.code === 'store_unavailable' ? rootCause(storeDown ?? err)?.message : undefined;
  return { code: 1, message: `realm-broker: ${(err as Error).message}${cause ? ` (${cause})` : ''}` };
}

// Run as a program (`node dist/cli/main.js …`), not only through the bin that imports it: a
// wrapper calling this file did nothing and exited 0 (attack helper round 30b).
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  process.exit(await runCli(process.argv.slice(2)));
}
