import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { startHarness, type Harness } from '../support/harness';
import { sha256 as sha } from '../support/names';
import { spawnWorker, type WorkerProcess } from '../support/worker-process';
import { startOpenAIServer, type OpenAIServer } from '../support/openai-server/index';
import { solidPng } from '../support/openai-server/png';
import { startGcsServer, type GcsTestServer } from '../support/gcs-server/server';
import { startAzurite, startS3 } from '../support/emulators';
import { toneWav } from '../pipelines/media-out/index';

/**
 * Generated media, computed by a real worker process, lands in each column's destination under
 * `<sha256 of the bytes>.<ext>`: S3 (s3rver), GCS (test/support/gcs-server) and Azure Blob (azurite),
 * reached with nothing but each SDK's standard environment variables; large files go up in parts
 * or blocks; a recompute writes nothing new; the worker's output holds no credential.
 */
const S3_SECRET = 'tessera-test-s3-secret';
let s3: Awaited<ReturnType<typeof startS3>>;
let gcs: GcsTestServer;
let azurite: Awaited<ReturnType<typeof startAzurite>>;
let openaiServer: OpenAIServer;
let h: Harness;
let worker: WorkerProcess;
let s3c: S3Client;
let az: BlobServiceClient;

beforeAll(async () => {
  [s3, gcs, azurite, openaiServer] = await Promise.all([startS3(['media']), startGcsServer(), startAzurite(), startOpenAIServer()]);
  az = BlobServiceClient.fromConnectionString(azurite.connectionString);
  await az.getContainerClient('media').createIfNotExists();
  s3c = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  process.env.TESSERA_TEST_OPENAI_URL = openaiServer.url;
  h = await startHarness(path.resolve(import.meta.dirname, '../pipelines/media-out'));
  await h.engine.apply(h.def);
  worker = await spawnWorker({
    ...h.cfg.env,
    TESSERA_TEST_OPENAI_URL: openaiServer.url,
    TESSERA_MEDIA_DESTINATION: 's3://media/default', // the default may be a bucket too
    // each SDK's own variables, nothing Tessera-specific
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: S3_SECRET, // a secret the worker signs with and must never print
    AWS_REGION: 'us-east-1',
    STORAGE_EMULATOR_HOST: gcs.url,
    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
  });
}, 180_000);
afterAll(async () => {
  await worker?.stop();
  await h?.close();
  s3c?.destroy();
  await Promise.all([s3?.close(), gcs?.close(), azurite?.close(), openaiServer?.close()]);
});

const bytes = async (r: Readable) => {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};
/** The PNG the test server generates for a prompt. */
const generated = (prompt: string) => {
  const h = createHash('sha256').update(prompt).digest();
  return solidPng(8, 8, [h[0]!, h[1]!, h[2]!]);
};
const swatchOf = (text: string) => {
  const b = Buffer.from(text);
  return solidPng(4, 4, [b[0]!, b[1]!, b[2]!]);
};

async function read(url: string): Promise<Buffer> {
  const u = new URL(url);
  const key = decodeURIComponent(u.pathname.slice(1));
  if (u.protocol === 's3:') return bytes((await s3c.send(new GetObjectCommand({ Bucket: u.host, Key: key }))).Body as Readable);
  if (u.protocol === 'gs:') return gcs.objects.get(`${u.host}/${key}`)!.data;
  const [container, ...name] = key.split('/');
  return az.getContainerClient(container!).getBlobClient(name.join('/')).downloadToBuffer();
}

const ROWS = [
  { id: 'big', text: 'a red sunset over the sea', seconds: 100 }, // ~9.2 MiB of WAV: two 8 MiB parts/blocks
  { id: 'small', text: 'blue', seconds: 1 },
];
const gcsUploads = () => gcs.log.filter((l) => l.startsWith('POST /upload/')).length;

test('each column writes its media to its own destination, content-addressed, in parts when large', async () => {
  await h.engine.insert('media-out', 'prompts', ROWS);
  await h.engine.waitIdle('media-out', { timeoutMs: 120_000 });
  const rows = await h.engine.store.select('media-out', 'prompts', { withErrors: true });
  expect(rows.flatMap((r) => Object.entries(r).filter(([k, v]) => k.endsWith('_errormsg') && v !== null))).toEqual([]);

  for (const input of ROWS) {
    const r = rows.find((x) => x.id === input.id)!;
    const png = sha(generated(input.text));
    const wav = sha(toneWav(input.seconds));
    expect(r).toMatchObject({
      img_local: `s3://media/default/${png}.png`,
      img_s3: `s3://media/generated/${png}.png`,
      img_gcs: `gs://media/generated/${png}.png`,
      img_az: `az://devstoreaccount1/media/generated/${png}.png`,
      swatch: `s3://media/swatches/${sha(swatchOf(input.text))}.png`,
      tone_s3: `s3://media/tones/${wav}.wav`,
      tone_gcs: `gs://media/tones/${wav}.wav`,
      tone_az: `az://devstoreaccount1/media/tones/${wav}.wav`,
    });
    // the bytes behind each URL hash to its key
    for (const col of ['img_local', 'img_s3', 'img_gcs', 'img_az', 'swatch', 'tone_s3', 'tone_gcs', 'tone_az']) {
      const url = String(r[col]);
      expect(`${col} ${sha(await read(url))}`).toBe(`${col} ${path.basename(url).split('.')[0]}`);
    }
  }

  const big = rows.find((x) => x.id === 'big')!;
  const key = (url: unknown) => decodeURIComponent(new URL(String(url)).pathname.slice(1));
  const inBucket = (url: unknown) => key(url).replace(/^media\//, '');
  const small = rows.find((x) => x.id === 'small')!;
  // the large tone went up as a multipart upload (completed by a POST), the small one as one PUT
  expect(s3.events.filter((e) => e.includes('tones/')).sort()).toEqual([
    `ObjectCreated:Post ${inBucket(big.tone_s3)}`,
    `ObjectCreated:Put ${inBucket(small.tone_s3)}`,
  ]);
  const head = await s3c.send(new HeadObjectCommand({ Bucket: 'media', Key: inBucket(big.tone_s3) }));
  expect(head.ContentType).toBe('audio/wav');
  const blocks = await az.getContainerClient('media').getBlockBlobClient(inBucket(big.tone_az)).getBlockList('committed');
  expect(blocks.committedBlocks!.length).toBeGreaterThanOrEqual(2); // staged blocks
  expect(gcs.log.filter((l) => l.includes('?resumable'))).toHaveLength(1); // the one large object: a resumable upload
  expect((await readdir(tmpdir())).filter((f) => f.startsWith('tessera-tone-'))).toEqual([]); // temporary files removed
});

test('computing the same media again writes nothing new', async () => {
  const count = async () => (await s3c.send(new ListObjectsV2Command({ Bucket: 'media' }))).KeyCount;
  const [objects, uploads] = [await count(), gcsUploads()];
  expect(objects).toBe(2 + 2 + 2 + 2); // default, generated, swatches, tones: two rows each
  const before = await h.engine.store.select('media-out', 'prompts');
  await h.engine.recompute('media-out', 'prompts');
  await h.engine.waitIdle('media-out', { timeoutMs: 120_000 });
  expect(await h.engine.store.select('media-out', 'prompts')).toEqual(before);
  expect([await count(), gcsUploads()]).toEqual([objects, uploads]);
});

test('no credential appears in the worker output', () => {
  const out = worker.output();
  expect(out).toContain('worker started');
  expect(out).not.toContain(S3_SECRET);
  expect(out).not.toContain(/AccountKey=([^;]+)/.exec(azurite.connectionString)![1]!);
});
