import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { BlobServiceClient } from '@azure/storage-blob';
import { CellInputError, type MediaStore } from '@tessera/core';
import { AzureMediaStore, GcsMediaStore, LocalMediaStore, S3MediaStore, createMediaContext, parquetFiles, readRows } from '@tessera/connectors';
import { testMediaPolicy } from './support/media-policy';
import { chunkRows, chunkSchema } from './support/schema';
import { startGcsServer, type GcsTestServer } from '../../../test/support/gcs-server/server';
import { AZURITE_ACCOUNT, startAzurite, startS3 } from '../../../test/support/emulators';

/** Counts uploads and downloads, to prove content-addressed writes skip and the cache caches. */
class Counting implements MediaStore {
  puts = 0;
  gets = 0;
  constructor(private readonly inner: MediaStore) {}
  get schemes() {
    return this.inner.schemes;
  }
  put(base: string, key: string, body: Buffer | Readable, opts?: { contentType?: string; size?: number }) {
    this.puts++;
    return this.inner.put(base, key, body, opts);
  }
  exists(url: string) {
    return this.inner.exists(url);
  }
  get(url: string) {
    this.gets++;
    return this.inner.get(url);
  }
  fingerprint(url: string) {
    return this.inner.fingerprint ? this.inner.fingerprint(url) : Promise.resolve(null);
  }
}

const MiB = 1024 * 1024;
let tmp: string;
let s3: Awaited<ReturnType<typeof startS3>>;
let gcs: GcsTestServer;
let azurite: Awaited<ReturnType<typeof startAzurite>>;
let bigFile: string;
let big: Buffer;
const stores: Record<string, { store: Counting; destination: () => string }> = {};

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tessera-media-'));
  big = randomBytes(11 * MiB + 123); // several parts/blocks/chunks below
  bigFile = path.join(tmp, 'big.bin');
  await writeFile(bigFile, big);
  [s3, gcs, azurite] = await Promise.all([startS3(['media']), startGcsServer(), startAzurite()]);

  // S3 is configured the way an operator would: endpoint and credentials from the environment
  process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('media').createIfNotExists();

  stores.local = { store: new Counting(new LocalMediaStore()), destination: () => `file://${tmp}/local/generated` };
  stores.s3 = { store: new Counting(new S3MediaStore({ partSize: 5 * MiB })), destination: () => 's3://media/generated/frames' };
  stores.gcs = {
    store: new Counting(new GcsMediaStore({ config: { apiEndpoint: gcs.url, projectId: 'test' }, resumableAbove: MiB })),
    destination: () => 'gs://media/generated',
  };
  stores.azure = {
    store: new Counting(new AzureMediaStore({ connectionString: azurite.connectionString, blockSize: 4 * MiB })),
    destination: () => `az://${AZURITE_ACCOUNT}/media/generated`,
  };
}, 120_000);

afterAll(async () => {
  await Promise.all([s3?.close(), gcs?.close(), azurite?.close()]);
  await rm(tmp, { recursive: true, force: true });
  delete process.env.AWS_ENDPOINT_URL_S3;
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const bytesOf = async (r: Readable) => {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

describe.each(['local', 's3', 'gcs', 'azure'])('%s media store', (name) => {
  const setup = () => {
    const { store, destination } = stores[name]!;
    const ctx = createMediaContext({
      policy: testMediaPolicy(),
      stores: [store],
      cacheDir: path.join(tmp, `cache-${name}`),
      cacheMaxBytes: 64 * MiB,
      defaultDestination: destination(),
    });
    return { store, ctx, destination: destination() };
  };

  test('content-addressed writes: key is sha256.ext, the second write uploads nothing', async () => {
    const { store, ctx, destination } = setup();
    const png = Buffer.from(`fake png bytes for ${name}`);
    const puts = store.puts;
    const url = await ctx.write(destination, png, { extension: 'png', contentType: 'image/png' });
    expect(url).toBe(`${destination}/${sha(png)}.png`);
    expect(await ctx.write(destination, png, { extension: '.png' })).toBe(url);
    expect(store.puts - puts).toBe(1);
    expect(await store.exists(url)).toBe(true);
    expect((await bytesOf(await store.get(url))).equals(png)).toBe(true);
  });

  test('a large local file streams up (multipart / blocks / resumable) and comes back through the cache', async () => {
    const { store, ctx, destination } = setup();
    const url = await ctx.write(destination, bigFile, { extension: 'bin' });
    expect(url).toBe(`${destination}/${sha(big)}.bin`);
    const gets = store.gets;
    const local = await ctx.localPath(url);
    if (name === 'local') expect(local).toBe(path.join(tmp, 'local/generated', `${sha(big)}.bin`));
    expect(sha(await readFile(local))).toBe(sha(big));
    expect(await ctx.localPath(url)).toBe(local);
    expect(store.gets - gets).toBe(name === 'local' ? 0 : 1);
  });

  test('file exports land in the store too, and read back', async () => {
    const { store, ctx, destination } = setup();
    const sink = parquetFiles({ destination: `${destination}/exports`, stores: [store] });
    await sink.upsert(chunkSchema(), chunkRows(10));
    expect(sink.written).toHaveLength(1);
    const url = sink.written[0]!;
    expect(url).toMatch(new RegExp(`^${destination.replace(/[/.]/g, '\\$&')}/exports/chunks/part-[0-9a-f]{32}\\.parquet$`));
    const got = [];
    for await (const b of readRows(url, chunkSchema().columns, { media: ctx })) got.push(...b);
    expect(got).toHaveLength(10);
  });

  test('a missing object is a CellInputError naming it', async () => {
    const { store, ctx, destination } = setup();
    const url = `${destination}/nope.png`;
    expect(await store.exists(url)).toBe(false);
    await expect(store.get(url)).rejects.toThrow(CellInputError);
    await expect(ctx.localPath(url)).rejects.toThrow(/nope\.png/);
  });
});

/**
 * Workers cache remote media on disk. An object overwritten under the same URL (a source that
 * saw it change upserts its row, and the columns reading it are computed again) must be read as
 * it is now, not from a copy of what it was; an unchanged object still comes from the cache.
 */
test.each(['s3', 'gcs', 'azure'])('%s: an object overwritten under the same URL is read anew; an unchanged one from the cache', async (name) => {
  const { store, destination } = stores[name]!;
  const ctx = createMediaContext({ policy: testMediaPolicy(), stores: [store], cacheDir: path.join(tmp, `cache-overwrite-${name}`) });
  const url = await store.put(destination(), 'mutable/report.txt', Buffer.from('the first version'));
  const gets = store.gets;
  expect(await readFile(await ctx.localPath(url), 'utf8')).toBe('the first version');
  expect(await readFile(await ctx.localPath(url), 'utf8')).toBe('the first version');
  expect(store.gets - gets).toBe(1);

  await store.put(destination(), 'mutable/report.txt', Buffer.from('the second one'));
  const local = await ctx.localPath(url);
  expect(await readFile(local, 'utf8')).toBe('the second one');
  expect(local.endsWith('.txt')).toBe(true); // the extension is kept for tools like ffmpeg
  expect(await ctx.localPath(url)).toBe(local);
  expect(store.gets - gets).toBe(2);
  await expect(ctx.localPath(`${destination()}/mutable/gone.txt`)).rejects.toThrow(CellInputError);
});

test('GCS uploads used the JSON API as the client library does (multipart small, resumable large)', () => {
  expect(gcs.log).toContain('POST /upload/storage/v1/b/media/o?multipart');
  expect(gcs.log).toContain('POST /upload/storage/v1/b/media/o?resumable');
});

test('Azure https URLs resolve to the same blob as az:// ones', async () => {
  const store = new AzureMediaStore({ connectionString: azurite.connectionString });
  const url = await store.put(`az://${AZURITE_ACCOUNT}/media/x`, 'hello.txt', Buffer.from('hi'));
  expect(url).toBe(`az://${AZURITE_ACCOUNT}/media/x/hello.txt`);
  expect(await store.exists(`https://${AZURITE_ACCOUNT}.blob.core.windows.net/media/x/hello.txt`)).toBe(true);
});
