/** The shared store as a dry run sees it (dry-run-store.ts): reads go through, writes stay in the process. */
import assert from 'node:assert/strict';
import { DryRunStore } from '../../src/store/dry-run-store.js';
import { MemoryStore } from '../../src/store/memory-store.js';

describe('DryRunStore', () => {
  it('reads the shared store, reads back its own writes, and writes nothing there', async () => {
    const shared = new MemoryStore();
    await shared.put('tenancy:homes', { acme: 'server1' }, 600);
    await shared.put('keys:set', 1, 600);
    const view = new DryRunStore(shared);
    assert.deepEqual(await view.get('tenancy:homes'), { acme: 'server1' });
    await view.put('tenancy:homes', { acme: 'server2' }, 600);
    await view.put('tenancy:standing', { acme: 'x' }, 600);
    assert.deepEqual(await view.get('tenancy:homes'), { acme: 'server2' }, 'its own write, read back');
    assert.equal(await view.putIfAbsent('tenancy:standing', 'y', 60), false);
    assert.equal(await view.increment('counter', 60), 1);
    assert.equal(await view.increment('counter', 60), 2);
    assert.equal(await view.take('keys:set'), 1);
    assert.equal(await view.get('keys:set'), undefined, 'taken, as far as the dry run sees');
    await view.delete('tenancy:homes');
    assert.equal(await view.get('tenancy:homes'), undefined);
    // The shared store as it was.
    assert.deepEqual(await shared.get('tenancy:homes'), { acme: 'server1' });
    assert.equal(await shared.get('keys:set'), 1);
    assert.equal(await shared.get('tenancy:standing'), undefined);
    assert.equal(await shared.get('counter'), undefined);
    await view.close();
  });
});
