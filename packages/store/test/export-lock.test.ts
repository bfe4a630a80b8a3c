import type pg from 'pg';
import { Store } from '../src';
import { DATABASE_URL, closeStore, openStore, plan } from './store-kit';

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

/** A second store on the same schema: its own pool, as another worker process has. */
async function otherProcess(): Promise<Store> {
  return Store.open({ url: DATABASE_URL, schema: (store as unknown as { schema: string }).schema, poolSize: 4 });
}
const settingsOf = async (s: Store) => {
  const clients = (s as unknown as { pool: pg.Pool & { _clients: pg.PoolClient[] } }).pool._clients;
  return Promise.all(clients.map(async (c) => (await c.query('SHOW lock_timeout')).rows[0].lock_timeout as string));
};

test('ships of one export from two processes take turns one at a time, and every ship is counted', async () => {
  const other = await otherProcess();
  try {
    const [mine, theirs] = [await store.table('lib', 'docs'), await other.table('lib', 'docs')];
    let inside = 0;
    let most = 0;
    const seqs: number[] = [];
    const ship = (s: Store, table: typeof mine) =>
      s.exports.ship(table, 'sink-b', 60_000, async (x) => {
        most = Math.max(most, ++inside);
        seqs.push(x.seq);
        await new Promise((r) => setTimeout(r, 3));
        inside--;
        return { full: false, held: 0 };
      });
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? ship(store, mine) : ship(other, theirs))));
    expect(most).toBe(1);
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // waiters blocked in Postgres came back to their pools with the default lock_timeout
    for (const t of [...(await settingsOf(store)), ...(await settingsOf(other))]) expect(t).toBe('0');
  } finally {
    await other.close();
  }
});

test('a ship that cannot get the lock in time fails as transient, leaves the line, and the ones behind it still get their turn', async () => {
  const other = await otherProcess();
  try {
    const [mine, theirs] = [await store.table('lib', 'docs'), await other.table('lib', 'docs')];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const holding = new Promise<void>((r) => (started = r));
    // another process holds the lock until told
    const long = other.exports.ship(theirs, 'sink-c', 60_000, async () => {
      started();
      await held;
      return { full: false, held: 0 };
    });
    await holding;
    // here: the first waits in Postgres (and times out there), the second in memory (and times out there), the third outlasts the hold
    const quick = (waitMs: number) => store.exports.ship(mine, 'sink-c', waitMs, async (s) => ({ full: false, held: s.seq }));
    const first = quick(300);
    const second = quick(300);
    const third = quick(60_000);
    await expect(first).rejects.toMatchObject({ name: 'TransientError', message: expect.stringContaining('another ship of it is still running') });
    await expect(second).rejects.toMatchObject({ name: 'TransientError' });
    release();
    await long;
    expect((await third).held).toBe(2);
    for (const t of await settingsOf(store)) expect(t).toBe('0');
  } finally {
    await other.close();
  }
});
