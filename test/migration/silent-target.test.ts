/**
 * A target Keycloak that takes the connection and never answers (attack helper round 27,
 * L7): every admin call of `migrate` had a 10-minute timeout, so a --dry-run hung for
 * minutes per call. The login and the reads now give up after 30 s; only the calls that
 * move a whole realm (the import, a realm's deletion) keep the long timeout.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate, MigrationError } from '../../src/cli/migrate.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/http/logger.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { wire } from '../../src/wire.js';
import { ACME_ID } from '../helpers/broker.js';
import { upstreams } from './servers.js';

describe('migrate against a target that never answers', function () {
  this.timeout(60_000);
  const sockets: Socket[] = [];
  const silent = createServer((socket) => { sockets.push(socket); });
  const dir = mkdtempSync(join(tmpdir(), 'silent-target-test-'));
  const file = join(dir, 'acme-export.json');

  before(async () => {
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    writeFileSync(file, JSON.stringify({ realm: 'acme', id: ACME_ID, users: [], clients: [] }));
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
    rmSync(file, { force: true });
    rmdirSync(dir);
  });

  it('--dry-run gives up within the short timeout, naming the upstream', async () => {
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const config = loadConfig({ CONFIG_FILE: 'demo.config.json', UPSTREAM_TIMEOUT_MS: '5000' },
      { upstreams: upstreams([{ name: 'silent', url }]), tenants: {} });
    const deps = await wire(config, createLogger('silent'), new MemoryStore());
    const started = Date.now();
    await assert.rejects(migrate(deps, { tenant: 'acme', to: 'silent', dryRun: true, fromFile: file, force: true }),
      (e: Error) => e instanceof MigrationError && new RegExp(`upstream silent \\(${url}\\) did not answer the admin login within 30 s`).test(e.message));
    const took = Date.now() - started;
    assert.ok(took >= 29_000 && took < 40_000, `gave up after ${took} ms`);
    assert.ok(sockets.length >= 1, 'it did reach the silent server');
  });
});
