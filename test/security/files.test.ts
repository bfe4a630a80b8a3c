import { writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';
import path from 'node:path';
import type http from 'node:http';
import { csvFormat, readRows, MediaPolicy } from '@tessera/connectors';
import { authorized } from '../../apps/worker/src/http-auth';
import { tempDir } from '../support/temp-dir';
import { withEnv } from '../support/with-env';

/**
 * Files in and out: CSV exports that a spreadsheet would run, JSONL lines too long to hold, Parquet
 * pages that unzip past what a worker should hold, and the control token check.
 */
const dir = tempDir('tessera-sec-files-');

test('CSV export escapes text a spreadsheet would run as a formula; numbers stay numbers', async () => {
  const columns = [
    { name: 'a', type: { kind: 'string' } },
    { name: 'n', type: { kind: 'int' } },
  ] as never;
  const csv = (
    await csvFormat.encode(columns, [
      { a: '=HYPERLINK("http://evil","x")', n: -5 },
      { a: '+1+1', n: 1 },
      { a: '-2+3', n: 2 },
      { a: '@SUM(A1)', n: 3 },
      { a: '\tcmd', n: 4 },
      { a: 'plain', n: 5 },
    ] as never)
  ).toString();
  expect(csv.split('\r\n')).toEqual(['a,n', `"'=HYPERLINK(""http://evil"",""x"")",-5`, "'+1+1,1", "'-2+3,2", "'@SUM(A1),3", "'\tcmd,4", 'plain,5', '']);
});

test('a JSONL line over the row limit is a clear import error, not a crash', async () => {
  const file = path.join(dir, 'big.jsonl');
  await writeFile(file, `{"id":"a"}\n{"id":"${'x'.repeat(2_000_000)}"}\n`);
  const before = process.env.TESSERA_MAX_ROW_BYTES;
  process.env.TESSERA_MAX_ROW_BYTES = '1000000';
  try {
    const it = readRows(file, [{ name: 'id', type: { kind: 'string' } }] as never, { batchSize: 1 });
    expect((await it.next()).value).toEqual([{ id: 'a' }]);
    await expect(it.next()).rejects.toThrow(/import .*big\.jsonl: line 2 is longer than 1000000 bytes \(TESSERA_MAX_ROW_BYTES\)/);
  } finally {
    if (before === undefined) delete process.env.TESSERA_MAX_ROW_BYTES;
    else process.env.TESSERA_MAX_ROW_BYTES = before;
  }
});

/** A Parquet file of one string column `id`, its pages compressed with gzip. */
async function gzipParquet(name: string, ids: string[]): Promise<string> {
  const file = path.join(dir, name);
  const bytes = parquetWriteBuffer({
    columnData: [{ name: 'id', data: ids, type: 'STRING' }],
    codec: 'GZIP',
    compressors: { GZIP: (b: Uint8Array) => new Uint8Array(gzipSync(b)) },
  });
  await writeFile(file, Buffer.from(bytes));
  return file;
}
const idColumn = [{ name: 'id', type: { kind: 'string' } }] as never;

test('a Parquet page that unzips to more than a thousand times its size is refused before it is unzipped', async () => {
  // 4 KB of gzip that unzips to 8 MB: a small crafted file can declare (and unzip to) gigabytes
  const bomb = await gzipParquet('bomb.parquet', ['a', 'b'.repeat(8_000_000)]);
  await expect(readRows(bomb, idColumn).next()).rejects.toThrow(
    /import .*bomb\.parquet: a GZIP page of \d+ bytes unzips to \d+, more than 1000 times its size: not a file a writer makes/,
  );
  // the same file with ordinary text is read
  const text = Array.from({ length: 2000 }, (_, i) => `row ${i} of an ordinary file, ${(i * 7919) % 1000}`);
  const fine = await gzipParquet('fine.parquet', text);
  const rows = [];
  for await (const batch of readRows(fine, idColumn)) rows.push(...batch);
  expect(rows.map((r) => r.id)).toEqual(text);
});

test('a Parquet page past four times the row limit is refused, naming the limit', async () => {
  // not compressible: the ratio is ordinary, the size is not
  const big = Array.from({ length: 30_000 }, (_, i) => ((i * 2654435761) >>> 0).toString(36)).join(' ');
  const file = await gzipParquet('big-page.parquet', [big]);
  await withEnv({ TESSERA_MAX_ROW_BYTES: '50000' }, async () => {
    await expect(readRows(file, idColumn).next()).rejects.toThrow(
      /import .*big-page\.parquet: a GZIP page unzips to \d+ bytes, more than 200000 \(4 x TESSERA_MAX_ROW_BYTES\)/,
    );
  });
  const rows = [];
  for await (const batch of readRows(file, idColumn)) rows.push(...batch);
  expect(rows).toEqual([{ id: big }]);
});

test('control actions need the configured bearer token; without one configured, nothing is authorized', () => {
  const req = (authorization?: string) => ({ headers: authorization ? { authorization } : {} }) as http.IncomingMessage;
  const token = 'a-long-enough-token-123';
  expect(authorized(req(`Bearer ${token}`), token)).toBe(true);
  expect(authorized(req(`Bearer ${token}x`), token)).toBe(false);
  expect(authorized(req(), token)).toBe(false);
  expect(authorized(req(`Bearer ${token}`), undefined)).toBe(false);
});

test('policy configuration is checked: bad addresses and bucket forms are named', () => {
  expect(() => new MediaPolicy({ roots: [], allowAddresses: ['10.0.0.0/99'] })).toThrow(
    /TESSERA_MEDIA_ALLOW_ADDRESSES: "10.0.0.0\/99" has a bad prefix length/,
  );
  expect(() => new MediaPolicy({ roots: [], buckets: ['bucket-without-scheme'] })).toThrow(
    /TESSERA_MEDIA_BUCKETS: "bucket-without-scheme" is not s3:\/\/bucket/,
  );
});
