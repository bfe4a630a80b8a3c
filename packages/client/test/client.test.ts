/**
 * @tessera/client against real workers (in-process pool, real Redis and Postgres): rows sent are
 * committed and computed, `wait` resolves after the commit or rejects with the worker's reason,
 * a repeated requestId applies once, upsert inserts and updates.
 */
import { TesseraClient } from '@tessera/client';
import { makeItems, runPipeline, type Harness } from '../../../test/support/harness';
import shapes from '../../../test/pipelines/shapes/index';

let h: Harness;
let client: TesseraClient;

beforeAll(async () => {
  h = await runPipeline();
  client = new TesseraClient({ redisUrl: h.cfg.redisUrl, prefix: h.cfg.queuePrefix });
}, 120_000);

afterAll(async () => {
  await client?.close();
  await h?.close();
});

test('insert with wait, the same requestId again, then upsert', async () => {
  const rows = makeItems(30);
  const first = await client.insert('shapes', 'items', rows, { requestId: 'client-1', wait: true });
  expect(first.result).toMatchObject({ count: 30, duplicate: false });
  const again = await client.insert('shapes', 'items', rows, { requestId: 'client-1', wait: true });
  expect(again.result).toMatchObject({ duplicate: true });
  await client.upsert('shapes', 'items', [{ ...rows[0]!, text: 'changed text' }, ...makeItems(2, 100)], { wait: true });
  await h.engine.waitIdle('shapes', { timeoutMs: 120_000 });
  const stored = await h.engine.store.select('shapes', 'items', {});
  expect(stored).toHaveLength(32);
  expect(stored.find((r) => r.id === rows[0]!.id)).toMatchObject({ text: 'changed text', upper: 'CHANGED TEXT' });
}, 180_000);

test('a row that does not fit rejects the waiting send with the reason; bad requests fail before sending', async () => {
  await expect(client.insert('shapes', 'items', [{ id: 'bad', text: 'x', n: 'many' }], { wait: true })).rejects.toThrow(/n/);
  await expect(client.insert('shapes', 'items', [])).rejects.toThrow(/no rows/);
}, 180_000);

test('a table handle gives typed sends through the same queue', async () => {
  const items = client.table(shapes.items);
  expect([items.pipeline, items.table]).toEqual(['shapes', 'items']);
  const sent = await items.insert([{ id: 'typed-1', text: 'typed', n: 2 }], { requestId: 'typed-1', wait: true });
  expect(sent.result).toMatchObject({ count: 1, duplicate: false });
  await items.update([{ id: 'typed-1', text: 'typed again' }], { wait: true });
  expect(await h.engine.store.select('shapes', 'items', { where: { id: 'typed-1' }, columns: ['text'] })).toEqual([{ text: 'typed again' }]);
  await items.delete([{ id: 'typed-1' }], { wait: true });
  expect(await h.engine.store.select('shapes', 'items', { where: { id: 'typed-1' } })).toEqual([]);
}, 180_000);
