/**
 * Where `migrate` keeps a live export (attack helper round 27, F2): it went to a predictable
 * name in the shared temp directory, and the write and chmod followed a symlink another
 * local user had planted there, handing them client secrets and password hashes. The
 * export runs here with a stand-in `kc.sh` (a script that writes what `kc.sh export`
 * writes), so no Keycloak is needed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { exportRealm } from '../../src/cli/migrate/export-realm.js';

/** A Keycloak home whose bin/kc.sh writes `realm` to the --file it is given, as the real one does. */
function fakeKcHome(root: string, realm: object): string {
  const home = join(root, 'kc');
  mkdirSync(join(home, 'bin'), { recursive: true });
  writeFileSync(join(home, 'bin', 'kc.sh'), [
    '#!/bin/sh',
    'while [ $# -gt 0 ]; do [ "$1" = --file ] && file="$2"; shift; done',
    `printf '%s' '${JSON.stringify(realm)}' > "$file"`,
    'echo "Export finished successfully"',
  ].join('\n'));
  chmodSync(join(home, 'bin', 'kc.sh'), 0o755);
  return home;
}

describe('migrate: the live export is kept where no other local user can reach it', () => {
  const upstream = `up${randomUUID().slice(0, 8)}`;
  const realm = { realm: 'secret-realm', id: randomUUID(), users: [], clients: [{ clientId: 'app', secret: 'the-client-secret' }] };
  const planted: string[] = [];
  let root: string;
  let file: string | undefined;

  before(() => { root = mkdtempSync(join(tmpdir(), 'export-file-test-')); });
  after(() => {
    for (const p of planted) rmSync(p, { force: true });
    rmSync(root, { recursive: true, force: true });
    if (file) {
      rmSync(file, { force: true });
      // Only the export's own directory, and only once empty: never what else it may turn out to be.
      if (basename(dirname(file)).startsWith('realm-broker-export-')) rmdirSync(dirname(file));
    }
  });

  it('does not follow a symlink planted at the old predictable name, and keeps the file 0600 in a 0700 directory of its own', async () => {
    // Another user's file, and links to it at every name the old code could pick in the next seconds.
    const stolen = join(root, 'attacker-reads-this');
    writeFileSync(stolen, 'attacker');
    const now = Date.now();
    for (let t = now; t < now + 3000; t++) {
      const name = join(tmpdir(), `realm-broker-export-${upstream}-${realm.realm}-${t}.json`);
      symlinkSync(stolen, name);
      planted.push(name);
    }

    const settings = { kcHome: fakeKcHome(root, realm), db: 'postgres', dbUrl: 'jdbc:postgresql://127.0.0.1:1/none', javaHome: root };
    const res = await exportRealm(settings, realm.realm, upstream);
    file = res.file;
    assert.equal(res.rep.id, realm.id);

    assert.equal(readFileSync(stolen, 'utf8'), 'attacker', 'the planted link was followed: the export went to another user\'s file');
    assert.ok(!lstatSync(file).isSymbolicLink());
    assert.equal(lstatSync(file).mode & 0o777, 0o600);
    const dir = dirname(file);
    assert.notEqual(dir, tmpdir(), 'a directory of its own, not the shared temp directory');
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(dir).uid, process.getuid!());
    assert.match(readFileSync(file, 'utf8'), /the-client-secret/);
  });

  it('stops the whole export when the command is stopped, and deletes its file (attack round 51)', async () => {
    // A kc.sh whose export goes on in a child of its own (as kc.sh's java does), and says where.
    const home = join(root, 'slow-kc');
    mkdirSync(join(home, 'bin'), { recursive: true });
    const said = join(root, 'slow-export');
    writeFileSync(join(home, 'bin', 'kc.sh'), [
      '#!/bin/sh',
      'while [ $# -gt 0 ]; do [ "$1" = --file ] && file="$2"; shift; done',
      'printf \'{"realm":"secret-realm","users":[{"credentials":"half-written"\' > "$file"',
      'sleep 60 &',
      `echo "$! $file" > ${said}`,
      'wait',
    ].join('\n'));
    chmodSync(join(home, 'bin', 'kc.sh'), 0o755);
    const settings = { kcHome: home, db: 'postgres', dbUrl: 'jdbc:postgresql://127.0.0.1:1/none', javaHome: root };
    const running = exportRealm(settings, realm.realm, upstream).then(() => undefined, (err: Error) => err);
    let written = '';
    for (let i = 0; i < 100 && !written.includes(' '); i++) {
      await new Promise((r) => setTimeout(r, 50));
      try { written = readFileSync(said, 'utf8').trim(); } catch { /* not yet */ }
    }
    const [pid, exportFile] = written.split(' ') as [string, string];
    assert.ok(existsSync(exportFile), 'the export has begun');
    // SIGHUP, as a closed terminal sends (mocha keeps SIGINT for itself): the listener the export set.
    process.emit('SIGHUP');
    const err = await running;
    assert.ok(err instanceof Error && /interrupted \(SIGHUP\) during the export .*its file deleted/.test(err.message), String(err));
    assert.ok(!existsSync(dirname(exportFile)), 'the half-written export and its directory are gone');
    // Gone, or dead and not yet reaped (its parent, kc.sh, is gone too: it waits for whoever adopts it).
    let state = 'gone';
    for (let i = 0; i < 40; i++) {
      try { state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0]!; } catch { state = 'gone'; }
      if (state === 'gone' || state === 'Z') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(state === 'gone' || state === 'Z', `the export's own child is stopped too (state ${state})`);
    assert.equal(process.listenerCount('SIGHUP'), 0, 'the command\'s signals are its own again');
  });
});
