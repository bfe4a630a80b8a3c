import * as http from 'node:http';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CellInputError, ConfigError, TransientError } from '@tessera/core';
import {
  createMediaContext,
  mediaStoreFor,
  HttpMediaStore,
  LocalMediaStore,
  S3MediaStore,
  GcsMediaStore,
  AzureMediaStore,
  jsonlFiles,
  readRows,
} from '@tessera/connectors';
import { testMediaPolicy } from './support/media-policy';
import { chunkRows, chunkSchema } from './support/schema';

let tmp: string;
let server: http.Server;
let base: string;
const hits = new Map<string, number>();
const heads = new Map<string, number>();
const versioned = new Map<string, Buffer>();

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tessera-ctx-'));
  // a plain web server: /f/<n>.bin is n KiB, /flaky answers 503, anything else 404
  server = http.createServer((req, res) => {
    const p = req.url ?? '';
    if (req.method === 'GET') hits.set(p, (hits.get(p) ?? 0) + 1);
    else if (req.method === 'HEAD') heads.set(p, (heads.get(p) ?? 0) + 1);
    if (p.startsWith('/v/')) {
      // content that changes under one URL, named by an ETag (or only by Last-Modified)
      const body = versioned.get(p);
      if (body === undefined) return res.writeHead(404).end();
      const validator = p.endsWith('.lm') ? { 'last-modified': new Date(1e12 + body.length * 1000).toUTCString() } : { etag: `"${body.length}-${body[0]}"` };
      res.writeHead(200, { 'content-length': String(body.length), ...validator });
      return res.end(req.method === 'HEAD' ? undefined : body);
    }
    const m = /^\/f\/(\d+)\.bin$/.exec(p);
    if (m) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return res.end(Buffer.alloc(Number(m[1]) * 1024, Number(m[1]) % 256));
    }
    if (p === '/flaky') {
      res.writeHead(503, { 'retry-after': '2' });
      return res.end();
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await rm(tmp, { recursive: true, force: true });
});

test('local refs are returned as they are; a missing file is a CellInputError naming it', async () => {
  const ctx = createMediaContext({ policy: testMediaPolicy(), cacheDir: path.join(tmp, 'c0') });
  const file = path.join(tmp, 'video.mp4');
  await writeFile(file, 'x');
  expect(await ctx.localPath(file)).toBe(file);
  expect(await ctx.localPath(`file://${file}`)).toBe(file);
  const missing = path.join(tmp, 'gone.mp4');
  await expect(ctx.localPath(missing)).rejects.toThrow(CellInputError);
  await expect(ctx.localPath(missing)).rejects.toThrow(missing);
});

test('http(s) media is cached on disk, bounded in size, least recently used evicted first', async () => {
  const cacheDir = path.join(tmp, 'c1');
  const ctx = createMediaContext({ policy: testMediaPolicy(), cacheDir, cacheMaxBytes: 250 * 1024 });
  const a = await ctx.localPath(`${base}/f/100.bin`);
  expect((await readFile(a)).length).toBe(100 * 1024);
  expect(a.endsWith('.bin')).toBe(true);
  await ctx.localPath(`${base}/f/101.bin`);
  await ctx.localPath(`${base}/f/100.bin`); // a hit: 100 becomes the most recent
  expect(hits.get('/f/100.bin')).toBe(1);
  await ctx.localPath(`${base}/f/102.bin`); // over 250 KiB: 101, the least recently used, goes
  const files = await readdir(cacheDir);
  expect(files).toHaveLength(2);
  await ctx.localPath(`${base}/f/100.bin`);
  expect(hits.get('/f/100.bin')).toBe(1);
  await ctx.localPath(`${base}/f/101.bin`);
  expect(hits.get('/f/101.bin')).toBe(2);

  // a new context (a restarted worker) finds the cache as it was
  const again = createMediaContext({ policy: testMediaPolicy(), cacheDir, cacheMaxBytes: 250 * 1024 });
  await again.localPath(`${base}/f/101.bin`);
  expect(hits.get('/f/101.bin')).toBe(2);

  // concurrent requests for the same object download it once
  await Promise.all([1, 2, 3].map(() => ctx.localPath(`${base}/f/7.bin`)));
  expect(hits.get('/f/7.bin')).toBe(1);
});

test('http(s) media that changes under one URL is read anew (ETag or Last-Modified); unchanged, from the cache', async () => {
  const ctx = createMediaContext({ policy: testMediaPolicy(), cacheDir: path.join(tmp, 'c-versions') });
  for (const p of ['/v/a.txt', '/v/b.lm']) {
    versioned.set(p, Buffer.from('version one'));
    expect(await readFile(await ctx.localPath(base + p), 'utf8')).toBe('version one');
    expect(await readFile(await ctx.localPath(base + p), 'utf8')).toBe('version one');
    expect(hits.get(p)).toBe(1);
    versioned.set(p, Buffer.from('version two, longer'));
    expect(await readFile(await ctx.localPath(base + p), 'utf8')).toBe('version two, longer');
    expect(hits.get(p)).toBe(2);
  }
  // reads of one object at the same time ask for its fingerprint once
  versioned.set('/v/c.txt', Buffer.from('shared'));
  await Promise.all([1, 2, 3, 4].map(() => ctx.localPath(`${base}/v/c.txt`)));
  expect(heads.get('/v/c.txt')).toBe(1);
  expect(hits.get('/v/c.txt')).toBe(1);
  versioned.delete('/v/a.txt');
  await expect(ctx.localPath(`${base}/v/a.txt`)).rejects.toThrow(CellInputError);
});

test('http errors: 404 is bad input, 503 is transient with retry-after; http is read-only', async () => {
  const ctx = createMediaContext({ policy: testMediaPolicy(), cacheDir: path.join(tmp, 'c2') });
  await expect(ctx.localPath(`${base}/missing.png`)).rejects.toThrow(CellInputError);
  const presigned = await ctx.localPath(`${base}/missing.png?X-Amz-Signature=sekrit`).catch((e: Error) => e);
  expect(presigned).toBeInstanceOf(CellInputError);
  expect((presigned as Error).message).not.toContain('sekrit');
  const err = await ctx.localPath(`${base}/flaky`).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TransientError);
  expect((err as TransientError).retryAfterMs).toBe(2000);
  await expect(ctx.write(`${base}/out`, Buffer.from('x'), { extension: 'png' })).rejects.toThrow(ConfigError);
  await expect(ctx.write(tmp, Buffer.from('x'), { extension: '../x' })).rejects.toThrow(/invalid media extension/);
});

test('plain-path destinations, the default destination, and mediaStoreFor by scheme', async () => {
  const ctx = createMediaContext({ policy: testMediaPolicy(), cacheDir: path.join(tmp, 'c3'), defaultDestination: path.join(tmp, 'default') });
  const url = await ctx.write('', Buffer.from('abc'), { extension: 'txt' });
  expect(url).toBe(path.join(tmp, 'default', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.txt'));
  expect(await readFile(url, 'utf8')).toBe('abc');
  expect(mediaStoreFor('/tmp/x')).toBeInstanceOf(LocalMediaStore);
  expect(mediaStoreFor('file:///tmp/x')).toBeInstanceOf(LocalMediaStore);
  expect(mediaStoreFor('https://example.com/x')).toBeInstanceOf(HttpMediaStore);
  expect(mediaStoreFor('s3://b/x')).toBeInstanceOf(S3MediaStore);
  expect(mediaStoreFor('gs://b/x')).toBeInstanceOf(GcsMediaStore);
  expect(mediaStoreFor('az://acct/c/x')).toBeInstanceOf(AzureMediaStore);
  expect(mediaStoreFor('https://acct.blob.core.windows.net/c/x')).toBeInstanceOf(AzureMediaStore);
  expect(() => mediaStoreFor('ftp://x/y')).toThrow(/no media store for scheme ftp/);
});

test('imports read remote files through the media context', async () => {
  const dest = path.join(tmp, 'jsonl');
  const sink = jsonlFiles({ destination: dest });
  await sink.upsert(chunkSchema(), chunkRows(3));
  const [file] = await readdir(path.join(dest, 'chunks'));
  const local = path.join(dest, 'chunks', file!);
  // serve the file over http to stand in for any remote store
  const srv = http.createServer(async (_req, res) => res.end(await readFile(local)));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  try {
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/export/part.jsonl`;
    const ctx = createMediaContext({ policy: testMediaPolicy(), cacheDir: path.join(tmp, 'c4') });
    const got = [];
    for await (const b of readRows(url, chunkSchema().columns, { media: ctx })) got.push(...b);
    expect(got).toHaveLength(3);
    await expect(readRows(url, chunkSchema().columns).next()).rejects.toThrow(/need a media context/);
  } finally {
    await new Promise((r) => srv.close(r));
  }
});

test('a blob store that cannot be reached is a TransientError (the queue retries), not bad input', async () => {
  const { freePort } = await import('../../../test/support/tcp-proxy');
  const port = await freePort();
  const s3 = new S3MediaStore({
    config: { endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } },
  });
  await expect(s3.exists('s3://bucket/a.png')).rejects.toThrow(TransientError);
  await expect(s3.put('s3://bucket', 'a.png', Buffer.from('x'))).rejects.toThrow(TransientError);
  const gcs = new GcsMediaStore({ config: { apiEndpoint: `http://127.0.0.1:${port}`, projectId: 'p', retryOptions: { autoRetry: false } } });
  await expect(gcs.exists('gs://bucket/a.png')).rejects.toThrow(TransientError);
  const az = new AzureMediaStore({
    connectionString: `DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=${Buffer.from('k').toString('base64')};BlobEndpoint=http://127.0.0.1:${port}/acct;`,
    clientOptions: { retryOptions: { maxTries: 1 } },
  });
  const azErr = await az.exists('az://acct/c/a.png').catch((e: unknown) => e);
  expect(azErr).toBeInstanceOf(TransientError);
  await expect(createMediaContext({ policy: testMediaPolicy(), cacheDir: path.join(tmp, 'c5') }).localPath(`http://127.0.0.1:${port}/x.png`)).rejects.toThrow(
    TransientError,
  );
}, 120_000);
