import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand, DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { runSource, sourceStatuses, type SourceRunReport } from '@tessera/runtime';
import { runPipeline, type Harness } from '../support/harness';
import { testMediaContext } from '../support/media';
import { startGcsServer, type GcsTestServer } from '../support/gcs-server/server';
import { startAzurite, startS3, AZURITE_ACCOUNT } from '../support/emulators';
import { tempDir } from '../support/temp-dir';

/**
 * Folder and bucket sources (local folder, S3 through s3rver, GCS through the test server, Azure
 * through azurite): files appearing between runs are each ingested once, changed files are
 * re-ingested as updates, unchanged ones are left alone, deleted ones have their rows deleted,
 * listings go page by page; JSONL files in a bucket are imported as rows.
 */
let s3: Awaited<ReturnType<typeof startS3>>;
let gcs: GcsTestServer;
let azurite: Awaited<ReturnType<typeof startAzurite>>;
let s3c: S3Client;
let az: BlobServiceClient;
const dir = tempDir('tessera-src-');
let h: Harness;
let generation = 1;

beforeAll(async () => {
  [s3, gcs, azurite] = await Promise.all([startS3(['inbox']), startGcsServer(), startAzurite()]);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    STORAGE_EMULATOR_HOST: gcs.url,
    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
    SRC_DIR: dir,
    SRC_S3: 's3://inbox/docs',
    SRC_GCS: 'gs://gbucket/docs',
    SRC_AZ: `az://${AZURITE_ACCOUNT}/inbox/docs`,
    SRC_ROWS: 's3://inbox/dumps',
    SRC_PAGE: '2',
  });
  s3c = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  az = BlobServiceClient.fromConnectionString(azurite.connectionString);
  await az.getContainerClient('inbox').createIfNotExists();
  h = await runPipeline(path.resolve(import.meta.dirname, '../pipelines/sourcing'));
}, 180_000);
afterAll(async () => {
  await h?.close();
  s3c?.destroy();
  await Promise.all([s3?.close(), gcs?.close(), azurite?.close()]);
});

type Where = 'dir' | 's3' | 'gcs' | 'az';
const SOURCE: Record<Where, string> = { dir: 'inbox', s3: 's3_in', gcs: 'gcs_in', az: 'az_in' };

async function put(where: Where, key: string, text: string) {
  const body = Buffer.from(text);
  if (where === 'dir') {
    await mkdir(path.dirname(path.join(dir, key)), { recursive: true });
    await writeFile(path.join(dir, key), body);
  } else if (where === 's3') await s3c.send(new PutObjectCommand({ Bucket: 'inbox', Key: `docs/${key}`, Body: body }));
  else if (where === 'gcs')
    gcs.objects.set(`gbucket/docs/${key}`, { bucket: 'gbucket', name: `docs/${key}`, data: body, contentType: 'text/plain', generation: String(generation++) });
  else await az.getContainerClient('inbox').getBlockBlobClient(`docs/${key}`).uploadData(body);
}

async function remove(where: Where, key: string) {
  if (where === 'dir') await rm(path.join(dir, key));
  else if (where === 's3') await s3c.send(new DeleteObjectCommand({ Bucket: 'inbox', Key: `docs/${key}` }));
  else if (where === 'gcs') gcs.objects.delete(`gbucket/docs/${key}`);
  else await az.getContainerClient('inbox').getBlockBlobClient(`docs/${key}`).delete();
}

const media = () => testMediaContext(h.cfg);
const tick = (source: string): Promise<SourceRunReport> => runSource(h.engine, h.def, source, { trigger: 'schedule' });
const filesOf = async (origin: Where) =>
  (await h.engine.store.select('sourcing', 'files', { orderBy: ['id'], limit: 1000 })).filter((r) => r.origin === origin);

describe.each(['dir', 's3', 'gcs', 'az'] as Where[])('%s source', (where) => {
  const source = SOURCE[where];

  test('new files are ingested once, changed ones updated, gone ones deleted', async () => {
    for (const k of ['a.txt', 'b.txt', 'sub/c.txt']) await put(where, k, `first ${k}`);
    const first = await tick(source);
    expect(first).toMatchObject({ status: 'done', inserted: 3, updated: 0, deleted: 0, rejected: 0 });
    expect(first.pages).toBeGreaterThanOrEqual(2); // 3 files in pages of 2
    // the workers read each file (remote ones into their media cache) before any changes
    await h.engine.waitIdle('sourcing', { timeoutMs: 120_000 });
    expect((await filesOf(where)).map((r) => r.text)).toEqual(['first a.txt', 'first b.txt', 'first sub/c.txt']);

    // between ticks: two new files, one changed, the others untouched
    await put(where, 'd.txt', 'new d');
    await put(where, 'sub/e.txt', 'new e');
    await put(where, 'a.txt', 'changed a, and longer than before');
    const second = await tick(source);
    expect(second).toMatchObject({ status: 'done', inserted: 2, updated: 1, deleted: 0 });

    expect(await tick(source)).toMatchObject({ status: 'done', inserted: 0, updated: 0, deleted: 0 });

    const rows = await filesOf(where);
    expect(rows.map((r) => r.id)).toEqual([`${where}/a.txt`, `${where}/b.txt`, `${where}/d.txt`, `${where}/sub/c.txt`, `${where}/sub/e.txt`]);
    expect(rows.find((r) => r.id === `${where}/a.txt`)!.size).toBe(Buffer.byteLength('changed a, and longer than before'));

    await remove(where, 'b.txt');
    expect(await tick(source)).toMatchObject({ status: 'done', inserted: 0, updated: 0, deleted: 1 });
    expect((await filesOf(where)).map((r) => r.id)).not.toContain(`${where}/b.txt`);

    await h.engine.waitIdle('sourcing', { timeoutMs: 120_000 });
    const computed = await filesOf(where);
    expect(computed.every((r) => r.loud === String(r.id).toUpperCase())).toBe(true);
    // the changed file's text is computed again from what it holds now, not from the cached copy
    expect(computed.map((r) => r.text)).toEqual(['changed a, and longer than before', 'new d', 'first sub/c.txt', 'new e']);
    // the file's reference reads back as its content
    const a = computed.find((r) => r.id === `${where}/a.txt`)!;
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(await media().localPath(String(a.doc)), 'utf8')).toBe('changed a, and longer than before');
  }, 120_000);
});

test('every file was inserted exactly once: the versions insert one row per file', async () => {
  const versions = await h.engine.store.versions('sourcing', 'files');
  const inserts = versions.reduce((n, v) => n + v.inserts, 0);
  expect(inserts).toBe(4 * 5); // a, b, c, d, e in each of the four sources
});

test('bucket listings are paginated', () => {
  const lists = gcs.log.filter((l) => l.startsWith('GET') && /\/b\/gbucket\/o\/?$/.test(l));
  // 5 objects in pages of 2, ticks listing 3, 5, 5 and 4 objects: 2, 3, 3 and 2 requests
  expect(lists.length).toBeGreaterThanOrEqual(2 + 3 + 3 + 2);
});

test('JSONL files in a bucket are imported as rows; a changed file re-ingests its rows as updates; a bad file is named on the run', async () => {
  const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n');
  await s3c.send(
    new PutObjectCommand({
      Bucket: 'inbox',
      Key: 'dumps/one.jsonl',
      Body: jsonl([
        { id: 'r1', title: 'one', origin: 'dump' },
        { id: 'r2', title: 'two', origin: 'dump' },
        { id: 'r3', title: 'three', origin: 'dump' },
      ]),
    }),
  );
  expect(await tick('dumps')).toMatchObject({ status: 'done', inserted: 3, updated: 0, rejected: 0 });
  await s3c.send(
    new PutObjectCommand({
      Bucket: 'inbox',
      Key: 'dumps/one.jsonl',
      Body: jsonl([
        { id: 'r1', title: 'one!', origin: 'dump' },
        { id: 'r4', title: 'four', origin: 'dump' },
      ]),
    }),
  );
  await s3c.send(new PutObjectCommand({ Bucket: 'inbox', Key: 'dumps/two.jsonl', Body: jsonl([{ id: 'r5', origin: 'dump' }]) }));
  const r = await tick('dumps');
  expect(r).toMatchObject({ status: 'done', inserted: 1, updated: 1, rejected: 1 });
  const [run] = await h.engine.store.sources.runs('sourcing', 'dumps', 1);
  expect(run!.problems.join('\n')).toMatch(/two\.jsonl.*title/);
  const rows = (await h.engine.store.select('sourcing', 'records', { orderBy: ['id'] })).filter((x) => x.origin === 'dump');
  expect(rows.map((x) => [x.id, x.title])).toEqual([
    ['r1', 'one!'],
    ['r2', 'two'],
    ['r3', 'three'],
    ['r4', 'four'],
  ]);
  // the bad file is not read again until it changes
  expect(await tick('dumps')).toMatchObject({ status: 'done', inserted: 0, updated: 0, rejected: 0 });
});

test('status per source: last run, items seen, schedule', async () => {
  const statuses = await sourceStatuses(h.engine, 'sourcing');
  const inbox = statuses.find((s) => s.name === 'inbox')!;
  expect(inbox).toMatchObject({ kind: 'listing', table: 'files', items: 4, paused: false, scheduleText: 'on demand', nextRun: null });
  expect(inbox.lastRun).toMatchObject({ status: 'done', deleted: 1 });
});
