/** The store, timed and counted per operation (a decorator: the backends stay as they are). */
import type { Store } from '../store/store.js';
import type { Metrics } from './metrics.js';

const OPS = ['put', 'putIfAbsent', 'get', 'take', 'increment', 'ttl', 'delete', 'ping'] as const;

export function instrumentStore(store: Store, metrics: Metrics): Store {
  const wrapped = Object.create(store) as Store;
  for (const op of OPS) {
    const original = (store[op] as (...args: unknown[]) => Promise<unknown>).bind(store);
    (wrapped as unknown as Record<string, unknown>)[op] = async (...args: unknown[]) => {
      const end = metrics.storeDuration.startTimer({ backend: store.kind, operation: op });
      try {
        return await original(...args);
      } catch (err) {
        metrics.storeErrors.inc({ backend: store.kind, operation: op });
        throw err;
      } finally {
        end();
      }
    };
  }
  return wrapped;
}
