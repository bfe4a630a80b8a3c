import pg from 'pg';
import { Store, SHIP_DEATHS_BEFORE_REFUSAL, type ShipGuard } from '../src';
import { DATABASE_URL, closeStore, openStore, plan } from './store-kit';

/**
 * Ships that end with their worker process are counted in the export's row (`unfinished`), under its
 * lock: a suspect ship runs alone, and an export whose ships died twice in a row is refused until a
 * full ship someone asked for tries it again. (A real death, through worker processes: test/e2e/export-deaths.)
 */
let store: Store;
let db: pg.Client;
beforeEach(async () => {
  store = await openStore();
  await store.apply(plan);
  db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
});
afterEach(async () => {
  await db.end();
  await closeStore(store);
});

const schema = () => (store as unknown as { schema: string }).schema;
const row = async (sink: string) =>
  (await db.query(`SELECT unfinished, state, reason, needs_full, updated_at FROM "${schema()}".exports WHERE sink = $1`, [sink])).rows[0];
/** What two ships whose processes died holding the lock leave behind. */
const diedTwice = (sink: string) =>
  db.query(`UPDATE "${schema()}".exports SET unfinished = $2, updated_at = now() - interval '1 hour' WHERE sink = $1`, [sink, SHIP_DEATHS_BEFORE_REFUSAL]);
const ok = async () => ({ full: false, held: 0 });
const direct: ShipGuard['alone'] = (fn) => fn();

test('a ship counts as unfinished while it runs, and not once it ended, shipped or failed', async () => {
  const table = await store.table('lib', 'docs');
  let during: number | undefined;
  await store.exports.ship(table, 'sink', 5_000, async () => {
    during = (await row('sink')).unfinished;
    return ok();
  });
  expect(during).toBe(1);
  expect(await row('sink')).toMatchObject({ unfinished: 0, state: 'ok' });
  await expect(store.exports.ship(table, 'sink', 5_000, async () => Promise.reject(new Error('target said no')))).rejects.toThrow('target said no');
  expect(await row('sink')).toMatchObject({ unfinished: 0, state: 'stuck', reason: 'target said no' });
});

test('after two ships died in a row the export is refused, stuck with the reason, without running the ship; the refusal keeps its time', async () => {
  const table = await store.table('lib', 'docs');
  await store.exports.ship(table, 'sink', 5_000, ok);
  await diedTwice('sink');
  let ran = false;
  const ship = () =>
    store.exports.ship(
      table,
      'sink',
      5_000,
      async () => {
        ran = true;
        return ok();
      },
      { alone: direct, retryRefused: false },
    );
  await expect(ship()).rejects.toMatchObject({
    code: 'E_WORKER_DIED',
    message: expect.stringMatching(/^export sink: the worker process died during 2 ships of it in a row/),
  });
  const refused = await row('sink');
  expect(refused).toMatchObject({ unfinished: 2, state: 'stuck', needs_full: true });
  expect(refused.updated_at.getTime()).toBeGreaterThan(Date.now() - 60_000);
  // later ships are refused too, and leave the time of the first refusal (the fleet's spaced retry counts from it)
  await expect(ship()).rejects.toMatchObject({ code: 'E_WORKER_DIED' });
  expect(await row('sink')).toMatchObject({ unfinished: 2, state: 'stuck', updated_at: refused.updated_at });
  expect(ran).toBe(false);
});

test('a full ship someone asked for tries a refused export again: the try is its last, and a ship that ends clears the count', async () => {
  const table = await store.table('lib', 'docs');
  await store.exports.ship(table, 'sink', 5_000, ok);
  await diedTwice('sink');
  let during: { unfinished: number; updated_at: Date } | undefined;
  await store.exports.ship(
    table,
    'sink',
    5_000,
    async () => {
      during = await row('sink');
      return { full: true, held: 0 };
    },
    { alone: direct, retryRefused: true },
  );
  expect(during!.unfinished).toBe(3);
  expect(during!.updated_at.getTime()).toBeGreaterThan(Date.now() - 60_000);
  expect(await row('sink')).toMatchObject({ unfinished: 0, state: 'ok', needs_full: false });
});

test('a ship after one death runs alone, and does not count as unfinished while it waits for its turn', async () => {
  const table = await store.table('lib', 'docs');
  await store.exports.ship(table, 'sink', 5_000, ok);
  await db.query(`UPDATE "${schema()}".exports SET unfinished = 1 WHERE sink = 'sink'`);
  let waiting: number | undefined;
  let inside: number | undefined;
  let alone = 0;
  const guard: ShipGuard = {
    retryRefused: false,
    async alone(fn) {
      alone++;
      waiting = (await row('sink')).unfinished;
      return fn();
    },
  };
  await store.exports.ship(
    table,
    'sink',
    5_000,
    async () => {
      inside = (await row('sink')).unfinished;
      return ok();
    },
    guard,
  );
  expect({ alone, waiting, inside }).toEqual({ alone: 1, waiting: 1, inside: 2 });
  expect(await row('sink')).toMatchObject({ unfinished: 0, state: 'ok' });
  // with nothing died before, a ship does not wait for a turn
  await store.exports.ship(table, 'sink', 5_000, ok, guard);
  expect(alone).toBe(1);
});
