import { maxRowBytesFromEnv } from './row-limit';

/** A page codec as hyparquet calls it: the compressed bytes and the length the page header declares. */
export type Decompress = (input: Uint8Array, outputLength: number) => Uint8Array;

/** No real page unzips to more than this many times its compressed size; a crafted one (a "bomb") does. */
export const MAX_PAGE_RATIO = 1000;
/** Bytes a span of rows decodes at once, as the row group declares them: spans of a row group of large values are shorter. */
export const SPAN_BYTES = 256 * 1024 * 1024;
const SLACK_BYTES = 64 * 1024 * 1024;

/** A page holds rows: one over four times the row limit (TESSERA_MAX_ROW_BYTES) is not one a writer makes. */
export const maxPageBytesFromEnv = (): number => 4 * maxRowBytesFromEnv();

/** What one read may unzip (see boundedDecompressors): set before each read, counted by the codecs. */
export interface ReadBudget {
  /** the uncompressed bytes the row group declares */
  declared: number;
  /** bytes this read may unzip: what its row group declares (it may decode the group from its start), plus slack */
  limit: number;
  used: number;
  /** the row group read, for the error */
  group: number;
}

/** The budget of a read of row group `group`, which declares `declared` uncompressed bytes. */
export function readBudget(group: number, declared: number): ReadBudget {
  return { declared, limit: declared + SLACK_BYTES, used: 0, group };
}

/**
 * Codecs that refuse, before unzipping, a page whose declared size is past `maxPageBytes` or more
 * than MAX_PAGE_RATIO times its compressed bytes, and a read that unzips more than its row group
 * declared: a small crafted file must not take a worker's memory (a 1 MB Parquet file can declare,
 * and unzip to, gigabytes).
 */
export function boundedDecompressors(codecs: Record<string, Decompress>, maxPageBytes: number, budget: () => ReadBudget): Record<string, Decompress> {
  const bounded: Record<string, Decompress> = {};
  for (const [codec, decompress] of Object.entries(codecs)) {
    bounded[codec] = (input, outputLength) => {
      if (outputLength > maxPageBytes) {
        throw new Error(`a ${codec} page unzips to ${outputLength} bytes, more than ${maxPageBytes} (4 x TESSERA_MAX_ROW_BYTES)`);
      }
      if (outputLength > MAX_PAGE_RATIO * input.length + 4096) {
        throw new Error(
          `a ${codec} page of ${input.length} bytes unzips to ${outputLength}, more than ${MAX_PAGE_RATIO} times its size: not a file a writer makes`,
        );
      }
      const b = budget();
      b.used += outputLength;
      if (b.used > b.limit) {
        throw new Error(`row group ${b.group} unzips past the ${b.declared} bytes its metadata declares: the file is corrupt or crafted`);
      }
      return decompress(input, outputLength);
    };
  }
  return bounded;
}

/** Rows per read of a row group: at most `maxRows`, fewer where its declared bytes per row are large. */
export function spanRows(numRows: number, declaredBytes: number, maxRows: number): number {
  if (declaredBytes <= 0 || numRows <= 0) return maxRows;
  return Math.max(1, Math.min(maxRows, Math.floor((SPAN_BYTES * numRows) / declaredBytes)));
}
