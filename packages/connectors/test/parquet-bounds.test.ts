import { gzipSync } from 'node:zlib';
import { compressors } from 'hyparquet-compressors';
import { boundedDecompressors, spanRows, SPAN_BYTES, type Decompress, type ReadBudget } from '../src/imports/parquet-bounds';

/** Pages of ordinary text, gzip-compressed as a Parquet writer does, and what they unzip to. */
const page = (n: number) => {
  const text = Buffer.from(Array.from({ length: n }, (_, i) => `value ${(i * 7919) % 100_003};`).join(''));
  return { gz: new Uint8Array(gzipSync(text)), length: text.length, text };
};

test('a read that unzips past what its row group declares is refused at the page that goes past it', () => {
  const budget: ReadBudget = { declared: 90_000, limit: 100_000, used: 0, group: 3 };
  const codecs = boundedDecompressors(compressors as Record<string, Decompress>, 10_000_000, () => budget);
  const p = page(3000); // about 40 KB each
  expect(Buffer.from(codecs.GZIP!(p.gz, p.length)).equals(p.text)).toBe(true);
  expect(Buffer.from(codecs.GZIP!(p.gz, p.length)).equals(p.text)).toBe(true);
  expect(() => codecs.GZIP!(p.gz, p.length)).toThrow('row group 3 unzips past the 90000 bytes its metadata declares: the file is corrupt or crafted');
  // the next read has a budget of its own
  const fresh: ReadBudget = { declared: 90_000, limit: 100_000, used: 0, group: 4 };
  const again = boundedDecompressors(compressors as Record<string, Decompress>, 10_000_000, () => fresh);
  expect(Buffer.from(again.GZIP!(p.gz, p.length)).equals(p.text)).toBe(true);
});

test('spans of a row group hold fewer rows where its declared rows are large', () => {
  // DuckDB's row groups of small rows: the usual span
  expect(spanRows(122_880, 50 * 1024 * 1024, 131_072)).toBe(131_072);
  // 10 KB rows: 256 MiB per span
  expect(spanRows(1_000_000, 1_000_000 * 10_240, 131_072)).toBe(Math.floor(SPAN_BYTES / 10_240));
  // one row larger than a span still makes progress
  expect(spanRows(10, 10 * SPAN_BYTES * 4, 131_072)).toBe(1);
  // no declaration: the usual span
  expect(spanRows(5, 0, 131_072)).toBe(131_072);
});
