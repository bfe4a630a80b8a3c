import type pg from 'pg';
import type { Store } from '../src';
import { closeStore, openStore, plan } from './store-kit';

/** Ships of one export take turns under its lock, on pooled connections that come back clean. */
let store: Store;
beforeEach(async () => {
  store = await openStore();
  await store.apply(plan);
});
afterEach(() => closeStore(store));

test('concurrent ships of one export run one at a time, in sequence, and leave their pooled connections as they found them', async () => {
  const table = await store.table('lib', 'docs');
  let inside = 0;
  let most = 0;
  const seqs: number[] = [];
  // more ships than the pool has connections (4), each holding the lock a little while
  await Promise.all(
    Array.from({ length: 24 }, () =>
      store.exports.ship(table, 'sink-a', 60_000, async (s) => {
        most = Math.max(most, ++inside);
        seqs.push(s.seq);
        await new Promise((r) => setTimeout(r, 5));
        inside--;
        return { full: false, held: 0 };
      }),
    ),
  );
  expect(most).toBe(1);
  expect(seqs).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
  // the lock is free again: one more ship gets it at once
  const next = await store.exports.ship(table, 'sink-a', 1_000, async (s) => ({ full: false, held: s.seq }));
  expect(next.held).toBe(25);
  // a connection that went back to the pool after each ship must not gather a listener per ship
  // (pg-pool keeps its clients in _clients; the pool adds one error listener of its own, createPool one)
  const clients = (store as unknown as { pool: pg.Pool & { _clients: pg.PoolClient[] } }).pool._clients;
  expect(clients.length).toBeGreaterThan(0);
  for (const c of clients) expect(c.listenerCount('error')).toBeLessThanOrEqual(2);
});
