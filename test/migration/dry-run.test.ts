/**
 * `migrate --rollback --dry-run` and `migrate --retire [--force] --dry-run` report and change
 * nothing (attack helper round 27, F1: both ignored --dry-run; retire deleted the old realm).
 * The record of a migrated tenant is seeded in the store, as `migrate --to` leaves it, with
 * its old realm made for the test on the source server: no export needed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate, type MigrateOptions, type MigrateResult } from '../../src/cli/migrate.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/http/logger.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { HOMES_KEY, type HomesRecord } from '../../src/tenancy/tenant-homes.js';
import { wire } from '../../src/wire.js';
import { REDIS_URL, cleanRedisPrefix } from '../helpers/services.js';
import { adminOf, deleteRealm, SOURCE_URL, upstreams } from './servers.js';

const LOCK_KEY = 'tenancy:migration-lock';

describe('migrate --rollback / --retire with --dry-run: a report, no change', function () {
  this.timeout(60_000);
  const prefix = `rb-test:${randomUUID()}:`;
  const realm = `mig-dry-${randomUUID().slice(0, 8)}`;
  let id: string;
  let store: RedisStore;

  async function run(opts: Omit<MigrateOptions, 'tenant'>): Promise<MigrateResult> {
    const config = loadConfig({ CONFIG_FILE: 'demo.config.json', REDIS_URL, STORE_PREFIX: prefix, UPSTREAM_TIMEOUT_MS: '5000' },
      { upstreams: upstreams(), tenants: {} });
    const own = new RedisStore({ url: REDIS_URL, prefix, timeoutMs: 2000 });
    await own.connect();
    try {
      return await migrate({ ...(await wire(config, createLogger('silent'), own)) }, { tenant: realm, ...opts });
    } finally {
      await own.close();
    }
  }

  /** The tenant moved from `source` to `target` `ageMs` ago; its old realm is still on record. */
  async function seed(ageMs: number): Promise<HomesRecord> {
    const record: HomesRecord = {
      version: 7,
      homes: { [realm]: { upstream: 'target', realm, id, from: { upstream: 'source', realm, id }, since: Date.now() - ageMs } },
    };
    await store.put(HOMES_KEY, record, 3600);
    return record;
  }

  /** Nothing changed: the old realm stands, the record is as seeded. */
  async function assertUnchanged(record: HomesRecord): Promise<void> {
    assert.equal((await (await adminOf(SOURCE_URL)).realms.findOne({ realm }))?.id, id, 'the old realm is still there');
    assert.deepEqual(await store.get(HOMES_KEY), record, 'the homes record is untouched');
  }

  before(async () => {
    await (await adminOf(SOURCE_URL)).realms.create({ realm, enabled: true });
    id = (await (await adminOf(SOURCE_URL)).realms.findOne({ realm }))!.id!;
    store = new RedisStore({ url: REDIS_URL, prefix, timeoutMs: 2000 });
    await store.connect();
  });

  after(async () => {
    await store.close();
    await cleanRedisPrefix(prefix);
    await deleteRealm(SOURCE_URL, realm).catch(() => {});
  });

  it('--rollback --dry-run names the realm it would switch back to, and switches nothing', async () => {
    const record = await seed(0);
    const res = await run({ rollback: true, dryRun: true });
    await assertUnchanged(record);
    assert.equal(res.action, 'dry-run');
    assert.deepEqual(res.to, { upstream: 'source', realm, id });
    assert.equal(res.from.upstream, 'target');
  });

  it('a dry run takes no lock: it goes on while another migration holds it, and leaves that lock alone', async () => {
    const record = await seed(0);
    await store.put(LOCK_KEY, { tenant: 'other', pid: 1 }, 3600);
    try {
      assert.equal((await run({ rollback: true, dryRun: true })).action, 'dry-run');
      assert.equal((await run({ retire: true, force: true, dryRun: true })).action, 'dry-run');
      assert.deepEqual(await store.get(LOCK_KEY), { tenant: 'other', pid: 1 });
    } finally {
      await store.delete(LOCK_KEY);
    }
    await assertUnchanged(record);
  });

  it('--retire --dry-run is refused as the real run would be, before the old tokens\' lifetime', async () => {
    const record = await seed(0);
    await assert.rejects(run({ retire: true, dryRun: true }), new RegExp(`${realm} \\(id ${id}\\) before the move may be valid until .*--force`));
    await assertUnchanged(record);
  });

  it('--retire --force --dry-run names the realm it would delete, says the lifetime has not passed, deletes nothing', async () => {
    const record = await seed(0);
    const res = await run({ retire: true, force: true, dryRun: true });
    await assertUnchanged(record);
    assert.equal(res.action, 'dry-run');
    assert.deepEqual(res.wouldDelete, { upstream: 'source', realm, id });
    assert.equal(res.oldTokensExpired, false);
    assert.ok(Date.parse(res.oldTokensValidUntil!) > Date.now());
  });

  it('--retire --dry-run after the lifetime: says it has passed, deletes nothing', async () => {
    const record = await seed(11 * 3600_000);
    const res = await run({ retire: true, dryRun: true });
    await assertUnchanged(record);
    assert.equal(res.oldTokensExpired, true);
    assert.deepEqual(res.wouldDelete, { upstream: 'source', realm, id });
  });

  it('the command line: --retire --force --dry-run prints the plan, exit 0, deletes nothing', async () => {
    const record = await seed(0);
    const dir = mkdtempSync(join(tmpdir(), 'dry-run-test-'));
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ mode: 'dev', upstreams: upstreams() }));
    try {
      const cli = spawnSync('node', ['bin/realm-broker.mjs', 'migrate', realm, '--retire', '--force', '--dry-run'], {
        env: { ...process.env, CONFIG_FILE: config, REDIS_URL, STORE_PREFIX: prefix }, encoding: 'utf8', timeout: 60_000,
      });
      assert.equal(cli.status, 0, cli.stderr);
      assert.match(cli.stdout, new RegExp(`\\(dry run\\) would delete realm source/${realm} \\(id ${id}\\); the old tokens' lifetime has not passed`));
    } finally {
      rmSync(config, { force: true });
      rmdirSync(dir);
    }
    await assertUnchanged(record);
  });
});
