/**
 * `migrate --from-file` checks the file before trusting it (attack helper round 27, F3):
 * only the realm's name, id and a users array were checked, and a real run verified the
 * copy against the file itself, so an empty or partial export would switch the tenant to
 * a realm without its users; `users: [null]` crashed with "Cannot read properties of null".
 * Now the file's shape is checked (export-shape.ts) and the file compared with the live
 * source realm before anything is written (compare-source.ts), --dry-run included.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate, MigrationError, type MigrateOptions, type MigrateResult } from '../../src/cli/migrate.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/http/logger.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { HOMES_KEY } from '../../src/tenancy/tenant-homes.js';
import { wire } from '../../src/wire.js';
import { makeTestTenant } from '../helpers/test-tenant.js';
import { REDIS_URL, cleanRedisPrefix } from '../helpers/services.js';
import { adminOf, deleteRealm, SOURCE_URL, TARGET_URL, upstreams } from './servers.js';

describe('migrate --from-file: the file is checked, and compared with the live source', function () {
  this.timeout(60_000);
  const prefix = `rb-test:${randomUUID()}:`;
  const t = makeTestTenant();
  const dir = mkdtempSync(join(tmpdir(), 'from-file-test-'));
  let said: string[] = [];

  /** A file holding `realm` (as kc.sh writes one realm). */
  function file(realm: object): string {
    const path = join(dir, `${randomUUID()}.json`);
    writeFileSync(path, JSON.stringify(realm));
    return path;
  }

  async function run(opts: Omit<MigrateOptions, 'tenant' | 'to'>): Promise<MigrateResult> {
    const config = loadConfig({ CONFIG_FILE: 'demo.config.json', REDIS_URL, STORE_PREFIX: prefix, UPSTREAM_TIMEOUT_MS: '5000' },
      { upstreams: upstreams(), tenants: {} });
    const store = new RedisStore({ url: REDIS_URL, prefix, timeoutMs: 2000 });
    await store.connect();
    said = [];
    try {
      return await migrate({ ...(await wire(config, createLogger('silent'), store)), say: (line) => said.push(line) }, { tenant: t.realm, to: 'target', ...opts });
    } finally {
      await store.close();
    }
  }

  /** Nothing was written: no realm at the target, no routing record. */
  async function assertNothingWritten(): Promise<void> {
    assert.ok(!(await (await adminOf(TARGET_URL)).realms.findOne({ realm: t.realm })), 'no realm created at the target');
    const store = new RedisStore({ url: REDIS_URL, prefix, timeoutMs: 2000 });
    await store.connect();
    try { assert.equal(await store.get(HOMES_KEY), undefined, 'no routing record'); } finally { await store.close(); }
  }

  before(async () => {
    await (await adminOf(SOURCE_URL)).realms.create(t.representation);
    await deleteRealm(TARGET_URL, t.realm);
  });
  after(async () => {
    await cleanRedisPrefix(prefix);
    await deleteRealm(SOURCE_URL, t.realm).catch(() => {});
    await deleteRealm(TARGET_URL, t.realm).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a file of the wrong shape with the file and the bad path named (users: [null] crashed)', async () => {
    const bad = file({ realm: t.realm, id: t.id, users: [null], clients: [{ clientId: 'x' }, 'y'] });
    await assert.rejects(run({ fromFile: bad, dryRun: true }), (e: Error) => e instanceof MigrationError
      && e.message.startsWith(`export file ${bad} is not a realm export`) && /users\[0\]: .*received null/.test(e.message) && /clients\[1\]: .*expected object/.test(e.message));
    await assertNothingWritten();
  });

  it('refuses an empty export, --dry-run or not, before anything is written; says the differences', async () => {
    const empty = file({ realm: t.realm, id: t.id, users: [], clients: [] });
    for (const dryRun of [true, false]) {
      await assert.rejects(run({ fromFile: empty, dryRun }), (e: Error) => e instanceof MigrationError
        && /holds fewer users or clients than the live source source\/mig-.*users: 0 in the file, 3 at the live source.*--force/s.test(e.message));
      await assertNothingWritten();
    }
    assert.match(said.join('\n'), /realm attribute realm-broker\.email-domains: undefined in the file, "mig-.*\.example" at the live source/);
  });

  it('with --force, moves what the file holds (here a dry run), having said how it differs', async () => {
    const empty = file({ realm: t.realm, id: t.id, users: [], clients: [] });
    const res = await run({ fromFile: empty, dryRun: true, force: true });
    assert.equal(res.action, 'dry-run');
    assert.match(said.join('\n'), /users: 0 in the file, 3 at the live source/);
    await assertNothingWritten();
  });

  // Round 28: alice replaced by an account of the attacker's (same count) "matched the live source".
  it('refuses a file whose users are not the live realm\'s, though as many: an account swapped for another', async () => {
    const admin = await adminOf(SOURCE_URL);
    const realm = await admin.realms.export({ realm: t.realm, exportClients: true, exportGroupsAndRoles: true });
    const users = (await admin.users.find({ realm: t.realm, max: 100 })).map((u) => ({ id: u.id, username: u.username, email: u.email }));
    const swapped = [{ id: randomUUID(), username: 'mallory', email: 'mallory@attacker.example' }, ...users.slice(1)];
    const renamed = [{ ...users[0], email: 'mallory@attacker.example' }, ...users.slice(1)];
    for (const list of [swapped, renamed]) {
      await assert.rejects(run({ fromFile: file({ ...realm, users: list }), dryRun: true }), (e: Error) => e instanceof MigrationError
        && /users (in the file the live source does not have: mallory|whose username or email differ: .*mallory@attacker\.example)/.test(e.message) && /--force/.test(e.message));
    }
    await assertNothingWritten();
  });

  it('takes a file that matches the live source without --force', async () => {
    const admin = await adminOf(SOURCE_URL);
    const realm = await admin.realms.export({ realm: t.realm, exportClients: true, exportGroupsAndRoles: true });
    const users = (await admin.users.find({ realm: t.realm, max: 100 })).map((u) => ({ id: u.id, username: u.username, email: u.email }));
    const res = await run({ fromFile: file({ ...realm, users }), dryRun: true });
    assert.equal(res.action, 'dry-run');
    assert.match(said.join('\n'), /matches the live source/);
    await assertNothingWritten();
  });
});
