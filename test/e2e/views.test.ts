import { copyFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { definePipeline, t } from '@tessera/core';
import { reconcile } from '@tessera/runtime';
import { audioSplitter, documentSplitter, documentSplitterDef, frameIterator, stringSplitterDef } from '@tessera/iterators';
import { startHarness, type Harness } from '../support/harness';
import { connectPg } from '../support/clients';
import { callCounter, type CallCounter } from '../support/call-counter';
import { deleteQueueKeys } from '../support/cleanup';
import { uniqueName } from '../support/names';
import { waitForExports } from '../support/wait';
import { collect, localContext } from '../support/local-media';
import { viewsPipeline } from '../pipelines/views';
import { makeDocFixtures, PDF_PAGES, type DocFixtures } from '../../packages/iterators/test/support/doc-fixtures';
import { ffmpeg } from '../../packages/iterators/test/support/run';
import { tempDir } from '../support/temp-dir';

/**
 * Views run by the workers: iterating inserted base rows into view rows, computing the view's own
 * columns (over its outputs and over inherited base columns), views of views, exports of a view,
 * and the lifecycle: incremental inserts, updates that re-iterate or only re-derive, deletes that
 * cascade, a computed column added to a view, corrupt input failing its own base row only.
 */
const PIPELINE = path.resolve(import.meta.dirname, '../pipelines/views');
const customerSchema = uniqueName('customer');
const dir = tempDir('tessera-views-');
let docs: DocFixtures;
let h: Harness;
let db: pg.Client;
let counter: CallCounter;

beforeAll(async () => {
  docs = await makeDocFixtures(dir);
  process.env.TESSERA_TEST_CUSTOMER_SCHEMA = customerSchema;
  counter = callCounter({ setEnv: true });
  h = await startHarness(PIPELINE);
  // the module was imported before the environment above was set: define it again
  const def = viewsPipeline();
  h.registry.add(def);
  await h.engine.apply(def);
  await h.startWorkers();
  db = await connectPg();
});
afterAll(async () => {
  await h.close();
  await db.query(`DROP SCHEMA IF EXISTS ${customerSchema} CASCADE`);
  await db.end();
  await counter.close();
});

const calls = async (): Promise<{ shout: number; tag: number }> => {
  const c = await counter.counts();
  return { shout: c.shout ?? 0, tag: c.tag ?? 0 };
};
// view DAGs and exports start from jobs of their own: wait until no queue holds work
const settle = () => waitForExports(h.engine, 'views', { queues: ['control', 'cpu', 'media'] });
/** The chunks the splitter makes of a file when run directly. */
const expectedChunks = async (file: string): Promise<string[]> =>
  (await collect(documentSplitterDef.run(file, { separators: ['paragraph'], metadata: ['page'] }, localContext(dir)))).map((r) => r.text as string);
const chunkRows = (id: string) => h.engine.store.select('views', 'chunks', { where: { id }, orderBy: ['pos'] });
const exported = async (id: string) =>
  (await db.query(`SELECT pos::int AS pos, text, source, loud, tagged FROM ${customerSchema}.chunks WHERE id = $1 ORDER BY pos`, [id])).rows;

test('inserting documents fills the view: chunks with pos and metadata, computed columns, inherited columns, a view of the view, the export', async () => {
  await h.engine.insert('views', 'docs', [
    { id: 'report', doc: docs.pdf, source: 'finance' },
    { id: 'manual', doc: docs.markdown, source: null },
  ]);
  await settle();

  const report = await chunkRows('report');
  expect(report.map((r) => [r.pos, r.page])).toEqual([
    [0, 1],
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
  ]);
  expect(report.map((r) => r.text)).toEqual(PDF_PAGES.flat().map((lines) => lines.join('\n')));
  // inherited columns come with every view row, as the base row has them now
  expect(report.every((r) => r.source === 'finance' && r.source_loud === 'FINANCE' && r.doc === docs.pdf)).toBe(true);
  expect(report.map((r) => r.loud)).toEqual(report.map((r) => `${(r.text as string).toUpperCase()}!`));
  expect(report.map((r) => r.tagged)).toEqual(report.map((r) => `finance#${r.pos}`));
  expect(report.map((r) => r.tagged_loud)).toEqual(report.map((r) => `FINANCE#${r.pos}`));

  const manual = await chunkRows('manual');
  expect(manual.map((r) => r.text)).toEqual(await expectedChunks(docs.markdown));
  expect(manual.map((r) => r.tagged)).toEqual(manual.map((r) => `unknown#${r.pos}`));

  // the base row's iteration cell holds the number of view rows
  const base = await h.engine.store.select('views', 'docs', { orderBy: ['id'] });
  expect(base.map((r) => [r.id, r.chunks])).toEqual([
    ['manual', manual.length],
    ['report', 6],
  ]);

  // sentences of chunks: a view of a view, inheriting from both
  const sentences = await h.engine.store.select('views', 'sentences', { where: { id: 'report' }, orderBy: ['text'] });
  const want: string[] = [];
  for (const r of report) for await (const s of stringSplitterDef.run(r.text as string, { separators: 'sentence' }, {} as never)) want.push(s.text as string);
  expect(sentences.map((s) => s.text)).toEqual(want.sort());
  expect(sentences.every((s) => s.source === 'finance' && typeof s.chunks_pos === 'number' && typeof s.chunks_text === 'string')).toBe(true);

  const c = await calls();
  expect(c.shout).toBe(report.length + manual.length);
  expect(c.tag).toBe(2 * (report.length + manual.length)); // tagged and tagged_loud
  expect((await exported('report')).map((r) => [r.pos, r.source, r.tagged])).toEqual(report.map((r) => [r.pos, 'finance', `finance#${r.pos}`]));
});

test('a corrupt or missing file fails its own iteration cell with the file and cause; the other rows of the batch and later inserts go on', async () => {
  const before = await calls();
  await h.engine.insert('views', 'docs', [
    { id: 'broken', doc: docs.pdfCorrupt, source: 'x' },
    { id: 'gone', doc: docs.missing, source: 'x' },
    { id: 'notes', doc: docs.text, source: 'x' },
  ]);
  await settle();
  const errors = await h.engine.store.errors('views', 'docs', { column: 'chunks' });
  const byId = Object.fromEntries(errors.map((e) => [e.key.id, e]));
  expect(Object.keys(byId).sort()).toEqual(['broken', 'gone']);
  expect(byId.broken!.errortype).toBe('CellInputError');
  expect(byId.broken!.errormsg).toContain(docs.pdfCorrupt);
  expect(byId.gone!.errormsg).toContain(docs.missing);
  expect(await chunkRows('broken')).toEqual([]);
  const notes = await chunkRows('notes');
  expect(notes.map((r) => r.text)).toEqual(await expectedChunks(docs.text));
  // only the new document's chunks were computed
  expect((await calls()).shout - before.shout).toBe(notes.length);

  // fix the file and retry only failed cells: the iteration runs again for those rows
  await copyFile(docs.pdf, docs.pdfCorrupt);
  await h.engine.recompute('views', 'docs', { errorsOnly: true });
  await settle();
  expect((await chunkRows('broken')).map((r) => r.text)).toEqual(await expectedChunks(docs.pdf));
  expect((await h.engine.store.errors('views', 'docs', { column: 'chunks' })).map((e) => e.key.id)).toEqual(['gone']);
});

test('a scanned PDF (no text layer) is done with zero chunks and a Warning on its cell; recompute --errors-only leaves it alone', async () => {
  await h.engine.insert('views', 'docs', [{ id: 'scan', doc: docs.pdfNoText, source: 'x' }]);
  await settle();
  expect(await chunkRows('scan')).toEqual([]);
  const [cell] = await h.engine.store.select('views', 'docs', { where: { id: 'scan' }, columns: ['chunks'], withErrors: true });
  expect(cell).toEqual({
    chunks: 0,
    chunks_errortype: 'Warning',
    chunks_errormsg: `${docs.pdfNoText}: the PDF has no text layer (scanned pages need OCR first): no chunks`,
  });
  expect((await h.engine.store.errors('views', 'docs', { column: 'chunks' })).map((e) => e.key.id)).not.toContain('scan');
  const status = (await h.engine.store.status('views', 'docs')).columns.find((c) => c.column === 'chunks')!;
  expect(status.pending).toBe(0);
  // only failed cells are reset: the scan's done cell is not among them
  const failedBefore = (await h.engine.store.errors('views', 'docs')).length;
  const r = await h.engine.recompute('views', 'docs', { errorsOnly: true });
  expect(r.cells).toBe(failedBefore);
  await settle();
  const [again] = await h.engine.store.select('views', 'docs', { where: { id: 'scan' }, columns: ['chunks'], withErrors: true });
  expect(again).toEqual(cell);
});

test('updating an inherited column re-derives only the view cells that read it; updating the input re-iterates', async () => {
  const before = await calls();
  const n = (await chunkRows('report')).length;
  await h.engine.update('views', 'docs', [{ id: 'report', source: 'audit' }]);
  await settle();
  const report = await chunkRows('report');
  expect(report.map((r) => r.tagged)).toEqual(report.map((r) => `audit#${r.pos}`));
  expect(report.map((r) => r.tagged_loud)).toEqual(report.map((r) => `AUDIT#${r.pos}`));
  const after = await calls();
  expect(after.tag - before.tag).toBe(2 * n); // tagged reads source; tagged_loud reads source_loud, recomputed first
  expect(after.shout - before.shout).toBe(0); // shout reads only the chunk's own text
  expect((await exported('report')).map((r) => r.source)).toEqual(report.map(() => 'audit'));

  // a new document replaces the view rows: 6 PDF chunks become the markdown's, extra exported rows go
  await h.engine.update('views', 'docs', [{ id: 'report', doc: docs.markdown }]);
  await settle();
  const md = await expectedChunks(docs.markdown);
  expect((await chunkRows('report')).map((r) => r.text)).toEqual(md);
  expect((await exported('report')).map((r) => [r.pos, r.text])).toEqual(md.map((text, pos) => [pos, text]));
  expect((await h.engine.store.select('views', 'docs', { where: { id: 'report' } }))[0]!.chunks).toBe(md.length);
});

test('deleting a base row deletes its view rows, down to views of views, and their exported rows', async () => {
  await h.engine.delete('views', 'docs', [{ id: 'manual' }]);
  await settle();
  expect(await chunkRows('manual')).toEqual([]);
  expect(await h.engine.store.select('views', 'sentences', { where: { id: 'manual' } })).toEqual([]);
  expect(await exported('manual')).toEqual([]);
  expect((await exported('report')).length).toBeGreaterThan(0);
  const versions = await h.engine.store.versions('views', 'chunks');
  expect(versions.at(-1)).toMatchObject({ kind: 'delete', deletes: (await expectedChunks(docs.markdown)).length });
});

describe('media views', () => {
  let video: string;
  let audio: string;
  beforeAll(async () => {
    video = path.join(dir, 'clip.mp4');
    await ffmpeg(
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=64x48:rate=30:duration=2',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-pix_fmt',
      'yuv420p',
      '-g',
      '10',
      video,
    );
    audio = path.join(dir, 'tone.wav');
    await ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000:duration=10', '-c:a', 'pcm_s16le', audio);
    await writeFile(path.join(dir, 'broken.mp4'), 'this is plain text, not a video\n'.repeat(20));
  });

  test('frames at 2 fps are the decoded frames nearest to k/2 s, written content-addressed to the media destination; a broken video fails alone', async () => {
    await h.engine.insert('views', 'videos', [
      { id: 'clip', video },
      { id: 'broken', video: path.join(dir, 'broken.mp4') },
    ]);
    await settle();
    const frames = await h.engine.store.select('views', 'frames', { where: { id: 'clip' }, orderBy: ['pos'] });
    expect(frames.map((f) => [f.pos, (f.frameAttrs as { index: number }).index, f.second])).toEqual([
      [0, 0, 0],
      [1, 15, 0.5],
      [2, 30, 1],
      [3, 45, 1.5],
    ]);
    const media = h.cfg.mediaDestination;
    for (const f of frames) {
      expect(path.dirname(f.frame as string)).toBe(media);
      expect(path.basename(f.frame as string)).toMatch(/^[0-9a-f]{64}\.png$/);
    }
    // tiles of frames, a view of a view: 2 x 2 tiles of 32 px per 64 x 48 frame, the bottom row padded
    const tiles = await h.engine.store.select('views', 'tiles', { where: { id: 'clip' }, orderBy: ['frames_pos', 'pos'] });
    expect(tiles.map((t) => [t.frames_pos, t.pos, t.tileCoord, t.tileBox])).toEqual(
      [0, 1, 2, 3].flatMap((f) => [
        [f, 0, [0, 0], [0, 0, 32, 32]],
        [f, 1, [1, 0], [32, 0, 64, 32]],
        [f, 2, [0, 1], [0, 32, 32, 64]],
        [f, 3, [1, 1], [32, 32, 64, 64]],
      ]),
    );
    expect(tiles.every((t) => t.second === frames[t.frames_pos as number]!.second)).toBe(true);
    expect((await readdir(media)).filter((n) => n.endsWith('.png')).length).toBeGreaterThan(4);
    const [err] = await h.engine.store.errors('views', 'videos', { column: 'frames' });
    expect(err).toMatchObject({ key: { id: 'broken' }, errortype: 'CellInputError' });
    expect(err!.errormsg).toContain('broken.mp4');
  });

  test('audio segments on the 2 s grid', async () => {
    await h.engine.insert('views', 'clips', [{ id: 'tone', audio }]);
    await settle();
    const segments = await h.engine.store.select('views', 'segments', { orderBy: ['pos'] });
    expect(segments.map((s) => [s.segmentStart, s.segmentEnd])).toEqual([
      [0, 2],
      [2, 4],
      [4, 6],
      [6, 8],
      [8, 10],
    ]);
    expect(segments.every((s) => /^[0-9a-f]{64}\.wav$/.test(path.basename(s.audioSegment as string)))).toBe(true);
  });
});

describe('pipeline changes', () => {
  test('a computed column added to a view is backfilled over its rows; a view added over a table with rows iterates them all', async () => {
    const next = viewsPipeline(true);
    h.registry.add(next);
    const changes = await h.engine.apply(next);
    expect(changes.map((c) => [c.table, c.kind, c.backfill])).toEqual(
      expect.arrayContaining([
        ['chunks', 'add_column', true],
        ['docs', 'add_column', true],
        ['source_parts', 'create_table', false],
      ]),
    );
    await settle();
    const chunks = await h.engine.store.select('views', 'chunks');
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks.every((c) => c.chars === [...(c.text as string)].length)).toBe(true);
    const docsNow = await h.engine.store.select('views', 'docs', { orderBy: ['id'] });
    const parts = await h.engine.store.select('views', 'source_parts', { orderBy: ['id'] });
    // every document is iterated; "audit" and "x" are one sentence each
    expect(docsNow.every((d) => d.source_parts === 1)).toBe(true);
    expect(parts.map((p) => [p.id, p.text])).toEqual(docsNow.map((d) => [d.id, d.source]));
  });

  test("changing a view's iterator parameters is refused unless recomputing, which replaces its rows", async () => {
    const changed = viewsPipeline(true, 1);
    await expect(h.engine.apply(changed)).rejects.toThrow(/iterator of view frames changed .*fps.*2.*fps.*1.*--recompute/);
    h.registry.add(changed);
    await h.engine.apply(changed, { recompute: true });
    await settle();
    const frames = await h.engine.store.select('views', 'frames', { where: { id: 'clip' }, orderBy: ['pos'] });
    expect(frames.map((f) => (f.frameAttrs as { index: number }).index)).toEqual([0, 30]);
    // the re-iterated frames' tiles were replaced too: 2 frames x 4 tiles
    const tiles = await h.engine.store.select('views', 'tiles', { where: { id: 'clip' } });
    expect(tiles).toHaveLength(8);
    expect(new Set(tiles.map((t) => t.frames_pos))).toEqual(new Set([0, 1]));
  });

  test('iterator parameters are checked when the pipeline is defined, naming the view and the problem', () => {
    const docsOnly = (it: (docs: any) => any) => () =>
      definePipeline('bad', (p) => {
        const docs = p.table('docs', { id: t.string().primaryKey(), doc: t.document(), video: t.video(), audio: t.audio() });
        p.view('v', docs, it(docs));
      });
    expect(docsOnly((d) => documentSplitter(d.doc, { separators: ['paragraph'], limit: 10 } as never))).toThrow(
      'pipeline bad.v: iterator documentSplitter: limit is only allowed with token_limit or char_limit',
    );
    expect(docsOnly((d) => documentSplitter(d.doc, { separators: ['token_limit'], limit: 10, overlap: 10 }))).toThrow(
      'overlap (10) must be smaller than limit (10)',
    );
    expect(docsOnly((d) => frameIterator(d.video, { fps: 1, numFrames: 3 } as never))).toThrow(
      'pipeline bad.v: iterator frameIterator: give at most one of fps, numFrames, keyframesOnly (got fps and numFrames)',
    );
    expect(docsOnly((d) => audioSplitter(d.audio, { duration: 2, maxSize: 1000 } as never))).toThrow(
      'give exactly one of duration (seconds), maxSize (bytes) or whole (true)',
    );
    expect(docsOnly((d) => frameIterator(d.doc as never, { fps: 1 }))).toThrow('iterator frameIterator accepts video columns, not document');
  });
});

test('recomputing a base column recomputes, after it, the view columns that read it, and nothing else', async () => {
  const before = await calls();
  const live = (await h.engine.store.select('views', 'chunks')).length;
  await h.engine.recompute('views', 'docs', { columns: ['source_loud'] });
  await settle();
  const after = await calls();
  expect(after.tag - before.tag).toBe(live); // tagged_loud only
  expect(after.shout - before.shout).toBe(0);
  const chunks = await h.engine.store.select('views', 'chunks');
  expect(chunks.every((r) => r.tagged_loud === `${(r.source_loud as string | null) ?? 'unknown'}#${r.pos}`)).toBe(true);
});

describe('recovery', () => {
  test('work lost from Redis is found by reconcile: every base row is iterated once and the view computed', async () => {
    await h.stopWorkers();
    await h.engine.insert('views', 'docs', [{ id: 'late', doc: docs.html, source: 'web' }]);
    await deleteQueueKeys(h.cfg);
    const before = await calls();
    const report = await reconcile(h.engine, 'views');
    expect(report.find((r) => r.table === 'docs')!.enqueued).toBeGreaterThan(0);
    await h.startWorkers();
    await settle();
    const late = await chunkRows('late');
    expect(late.map((r) => r.text)).toEqual(await expectedChunks(docs.html));
    expect((await calls()).shout - before.shout).toBe(late.length);
    // nothing is pending any more, so a second reconcile enqueues nothing
    expect((await reconcile(h.engine, 'views')).every((r) => r.enqueued === 0)).toBe(true);
    // enqueueing the insert's DAG again (a retried producer) iterates nothing twice
    const v = (await h.engine.store.versions('views', 'docs')).find((x) => x.kind === 'insert' && x.inserts === 1)!.version;
    await h.engine.enqueue('views', 'docs', v, { vMin: v });
    await settle();
    expect((await chunkRows('late')).map((r) => r.pos)).toEqual(late.map((r) => r.pos));
  });

  test('an update that lands before the insert was iterated still gets its row iterated and computed', async () => {
    await h.stopWorkers();
    await h.engine.insert('views', 'docs', [{ id: 'racing', doc: docs.text, source: 'first' }]);
    // the update copies the still-pending iteration cell into a new row version; the insert's jobs find it superseded
    await h.engine.update('views', 'docs', [{ id: 'racing', source: 'second' }]);
    await h.startWorkers();
    await settle();
    const rows = await chunkRows('racing');
    expect(rows.map((r) => r.text)).toEqual(await expectedChunks(docs.text));
    expect(rows.map((r) => r.tagged)).toEqual(rows.map((r) => `second#${r.pos}`));
    expect(rows.map((r) => r.tagged_loud)).toEqual(rows.map((r) => `SECOND#${r.pos}`));
  });

  test('revert undoes an insert with its view rows, and a delete with its view rows', async () => {
    await h.engine.insert('views', 'docs', [{ id: 'temp', doc: docs.text, source: 't' }]);
    await settle();
    expect((await chunkRows('temp')).length).toBeGreaterThan(0);
    await h.engine.store.revert('views', 'docs');
    expect(await chunkRows('temp')).toEqual([]);
    expect(await h.engine.store.select('views', 'sentences', { where: { id: 'temp' } })).toEqual([]);

    const notes = await chunkRows('notes');
    await h.engine.delete('views', 'docs', [{ id: 'notes' }]);
    await settle();
    expect(await chunkRows('notes')).toEqual([]);
    await h.engine.store.revert('views', 'docs');
    expect((await chunkRows('notes')).map((r) => r.text)).toEqual(notes.map((r) => r.text));
  });

  test('views are read-only', async () => {
    await expect(h.engine.insert('views', 'chunks', [{ text: 'x' }])).rejects.toThrow('views.chunks is a view: its rows come from iterating docs');
  });
});
