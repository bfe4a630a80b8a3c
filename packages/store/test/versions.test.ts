import type { Store } from '../src';
import { closeStore, openStore, plan } from './store-kit';

/** Versions, as-of reads (a view's inherited columns included) and revert, on the real record. */
let store: Store;
beforeEach(async () => {
  store = await openStore();
  await store.apply(plan);
});
afterEach(() => closeStore(store));

const docs = async (asOf?: number) =>
  (await store.select('lib', 'docs', { columns: ['id', 'body', 'tag'], ...(asOf === undefined ? {} : { asOf }) })).map((r) => `${r.id}:${r.body}:${r.tag}`);

test('every write is a new version with its kind and counts; a repeated request id applies once', async () => {
  const ins = await store.insert('lib', 'docs', [
    { id: 1, body: 'a b', tag: 'x' },
    { id: 2, body: 'c', tag: null },
  ]);
  const upd = await store.update('lib', 'docs', [{ id: 1, tag: 'y' }], { requestId: 'u1' });
  const dup = await store.update('lib', 'docs', [{ id: 1, tag: 'y' }], { requestId: 'u1' });
  const del = await store.delete('lib', 'docs', [{ id: 2 }]);
  expect(dup).toMatchObject({ version: upd.version, duplicate: true });
  expect([ins.version, upd.version, del.version]).toEqual([ins.version, ins.version + 1, ins.version + 2]);
  const history = await store.versions('lib', 'docs');
  const tail = history.filter((v) => v.version >= ins.version).map((v) => [v.version, v.kind, v.inserts, v.updates, v.deletes]);
  expect(tail).toEqual([
    [ins.version, 'insert', 2, 0, 0],
    [upd.version, 'update', 0, 1, 0],
    [del.version, 'delete', 0, 0, 1],
  ]);
  expect((await store.table('lib', 'docs')).version).toBe(del.version);
});

test('as-of reads show the table as each version left it', async () => {
  const v1 = (await store.insert('lib', 'docs', [{ id: 1, body: 'one', tag: 'x' }])).version;
  const v2 = (await store.insert('lib', 'docs', [{ id: 2, body: 'two', tag: null }])).version;
  const v3 = (await store.update('lib', 'docs', [{ id: 1, body: 'uno' }])).version;
  const v4 = (await store.delete('lib', 'docs', [{ id: 2 }])).version;
  expect(await docs(v1)).toEqual(['1:one:x']);
  expect(await docs(v2)).toEqual(['1:one:x', '2:two:null']);
  expect((await docs(v3)).sort()).toEqual(['1:uno:x', '2:two:null']);
  expect(await docs(v4)).toEqual(['1:uno:x']);
  expect(await docs()).toEqual(['1:uno:x']);
  await expect(store.select('lib', 'docs', { asOf: v4 + 1 })).rejects.toThrow(/versions 1\.\.\d+, not/);
});

test("a view read as of a version carries its base's columns as they were then", async () => {
  await store.insert('lib', 'docs', [{ id: 1, body: 'red fox', tag: 'old' }]);
  const [docsTable, wordsTable] = [await store.table('lib', 'docs'), await store.table('lib', 'words')];
  const [row] = await store.cells.batch(docsTable, ['words'], { lo: 0, hi: Number.MAX_SAFE_INTEGER });
  expect(row!.values.body).toBe('red fox');
  expect(row!.cells.words).toBe('pending');
  const commit = await store.cells.commitIteration(
    docsTable,
    'words',
    row!,
    {
      rows: [
        { pos: 0, word: 'red' },
        { pos: 1, word: 'fox' },
      ],
    },
    { requestId: 'it-1', detail: 'test' },
  );
  expect(commit).toMatchObject({ committed: true, inserted: 2 });
  // a repeated commit of the same row version changes nothing
  expect((await store.cells.commitIteration(docsTable, 'words', row!, { rows: [] }, { requestId: 'it-1', detail: 'test' })).committed).toBe(false);
  const iterated = (await store.table('lib', 'words')).version;
  expect(iterated).toBeGreaterThan(wordsTable.version);

  // the tag is not the iterator's input: the view rows stay, with new versions carrying the new tag
  const upd = await store.update('lib', 'docs', [{ id: 1, tag: 'new' }]);
  expect(upd.derived.map((d) => d.table)).toContain('words');
  const words = async (asOf?: number) =>
    (await store.select('lib', 'words', { columns: ['word', 'tag'], ...(asOf === undefined ? {} : { asOf }) })).map((r) => `${r.word}/${r.tag}`);
  expect(await words()).toEqual(['red/new', 'fox/new']);
  expect(await words(iterated)).toEqual(['red/old', 'fox/old']);
});

test('revert undoes the latest write: its rows go, the rows it retired come back', async () => {
  await store.insert('lib', 'docs', [{ id: 1, body: 'one', tag: 'x' }]);
  const del = await store.delete('lib', 'docs', [{ id: 1 }]);
  const ins = await store.insert('lib', 'docs', [{ id: 2, body: 'two', tag: null }]);
  // returns the version it undid
  expect(await store.revert('lib', 'docs')).toBe(ins.version);
  expect(await docs()).toEqual([]);
  expect(await store.revert('lib', 'docs')).toBe(del.version);
  expect(await docs()).toEqual(['1:one:x']);
  expect((await store.versions('lib', 'docs')).map((v) => v.kind)).not.toContain('delete');
  // the reverted key can be written again; an update with views derived from it cannot be reverted
  await store.insert('lib', 'docs', [{ id: 2, body: 'deux', tag: null }]);
  expect(await docs()).toEqual(['1:one:x', '2:deux:null']);
  await store.update('lib', 'docs', [{ id: 2, tag: 'y' }]);
  await expect(store.revert('lib', 'docs')).rejects.toThrow(/is an update, and views \(words\)/);
  expect(await docs()).toEqual(['1:one:x', '2:deux:y']);
});
