/**
 * The source realm WITH its users' ids and password hashes. The admin API never hands
 * out hashes (its partial export drops users and masks secrets); Keycloak's documented
 * way is `kc.sh export`, which reads the server's database directly and can run beside
 * the running server when that database is a shared one (PostgreSQL…), not dev-file.
 * So the live-source mode runs `kc.sh export` with the upstream's `export` settings;
 * the other mode reads a file such an export wrote (`--from-file`).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type RealmRepresentation from '@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js';
import type { UpstreamConfig } from '../../config/schema.js';
import { checkExportShape } from './export-shape.js';
import { MigrationError } from './migration-error.js';

export type ExportSettings = NonNullable<UpstreamConfig['export']>;

/** Reads a `kc.sh export` file (one realm, or a list of realms) and picks the realm named `realm`. */
export function readExportFile(file: string, realm: string): RealmRepresentation {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new MigrationError(`cannot read export file ${file}: ${(err as Error).message}`);
  }
  const realms = (Array.isArray(parsed) ? parsed : [parsed]) as (RealmRepresentation | null)[];
  const rep = realms.find((r) => r?.realm === realm);
  if (!rep) throw new MigrationError(`export file ${file} holds no realm "${realm}" (it has: ${realms.map((r) => r?.realm).join(', ') || 'none'})`);
  if (!Array.isArray(rep.users)) {
    throw new MigrationError(`export file ${file} has no users in realm "${realm}": export with --users same_file (or realm_file into a directory)`);
  }
  return checkExportShape(file, rep);
}

/** The newest JDK 21+ under /usr/lib/jvm, as scripts/keycloak.sh picks it. */
function pickJdk(settings: ExportSettings): string {
  if (settings.javaHome) return settings.javaHome;
  if (process.env.JAVA_HOME) return process.env.JAVA_HOME;
  let best = { home: '', major: 0 };
  for (const name of existsSync('/usr/lib/jvm') ? readdirSync('/usr/lib/jvm') : []) {
    const home = join('/usr/lib/jvm', name);
    const release = existsSync(join(home, 'release')) ? readFileSync(join(home, 'release'), 'utf8') : '';
    const major = Number(/JAVA_VERSION="(\d+)/.exec(release)?.[1] ?? 0);
    if (major >= 21 && major > best.major) best = { home, major };
  }
  if (!best.home) throw new MigrationError('no JDK 21+ for kc.sh export: set upstreams[].export.javaHome or JAVA_HOME');
  return best.home;
}

/**
 * A new, empty file for the export, in a directory of its own that only this user can
 * enter: `<tmp>/realm-broker-export-XXXXXX/<upstream>-<realm>.json`. The export holds
 * client secrets and password hashes. A predictable name in the shared temp directory let
 * another local user plant a symlink there beforehand, which the write and chmod followed
 * (attack helper round 27, F2); mkdtemp's directory is new, random and 0700, and the file
 * is created exclusively ('wx': never through a link, never one that exists).
 */
export function newExportFile(upstream: string, realm: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'realm-broker-export-'));
  // A realm's name is its admin's to choose: no path separator of it reaches the file name.
  const file = join(dir, `${upstream}-${realm}.json`.replace(/[^\w.-]/g, '_'));
  closeSync(openSync(file, 'wx', 0o600));
  return file;
}

/**
 * Runs `kc.sh export --realm R --users same_file` against the source's database and
 * returns the realm with its users. The file stays (newExportFile: a private directory,
 * the file 0600) so that the operator keeps a copy of what was moved.
 */
export async function exportRealm(settings: ExportSettings, realm: string, upstream: string): Promise<{ rep: RealmRepresentation; file: string }> {
  const kc = join(settings.kcHome, 'bin', 'kc.sh');
  if (!existsSync(kc)) throw new MigrationError(`upstream ${upstream}: export.kcHome ${settings.kcHome} has no bin/kc.sh`);
  const file = newExportFile(upstream, realm);
  const java = pickJdk(settings);
  // The database settings go through the environment, so the password never shows in `ps`.
  const env = {
    ...process.env,
    JAVA_HOME: java,
    PATH: `${java}/bin:${process.env.PATH ?? ''}`,
    KC_DB: settings.db,
    KC_DB_URL: settings.dbUrl,
    ...(settings.dbUsername ? { KC_DB_USERNAME: settings.dbUsername } : {}),
    ...(settings.dbPassword ? { KC_DB_PASSWORD: settings.dbPassword } : {}),
  };
  const output: string[] = [];
  let interrupted: NodeJS.Signals | undefined;
  const code = await new Promise<number | null>((resolve, reject) => {
    // A process group of its own (detached), so that the whole export (kc.sh and its java) can be
    // stopped together when the command is: a Ctrl-C or a kill of the command left the export
    // running, writing password hashes to a file nobody was told of, and the lock held (attack
    // round 51). The command then ends as any failed run does: its file deleted, the lock released.
    const child = spawn(kc, ['export', '--realm', realm, '--users', 'same_file', '--file', file], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const stop = (signal: NodeJS.Signals) => {
      interrupted = signal;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => [signal, () => stop(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    const keep = (chunk: Buffer) => { output.push(chunk.toString('utf8')); if (output.length > 200) output.shift(); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (exitCode) => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      resolve(exitCode);
    });
  });
  if (interrupted) {
    removeExport(file);
    throw new MigrationError(`interrupted (${interrupted}) during the export of realm ${realm}: the export was stopped and its file deleted; nothing was changed`);
  }
  const log = output.join('');
  if (code !== 0 || !/Export finished successfully/.test(log)) {
    const tail = log.split('\n').filter((l) => /ERROR|Exception|Caused by|Property|not found/i.test(l)).slice(-8).join('\n') || log.split('\n').slice(-12).join('\n');
    throw new MigrationError(`kc.sh export of realm ${realm} on upstream ${upstream} failed (exit ${code}):\n${tail}`);
  }
  return { rep: readExportFile(file, realm), file };
}

/** Deletes a live export and the directory made for it (a file given by --from-file is never passed here). */
export function removeExport(file: string): void {
  rmSync(dirname(file), { recursive: true, force: true });
}
