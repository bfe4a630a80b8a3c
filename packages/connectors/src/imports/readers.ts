import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { csvHeader, csvObjects, parseCsv } from './csv-parser';
import { maxRowBytesFromEnv } from './row-limit';
import { boundedDecompressors, maxPageBytesFromEnv, readBudget, spanRows, type Decompress } from './parquet-bounds';
import { arrowLib, parquetReaderLib } from '../sdk/modules';

/** A file as raw records (column name -> value) in batches, before type checks. */
export interface RawBatches {
  columns(): Promise<string[]>;
  batches(size: number): AsyncGenerator<Array<Record<string, unknown>>>;
}

/** Rows decoded per Parquet read: a whole row group as DuckDB writes them (122,880), a part of a larger one. */
const SPAN_ROWS = 131_072;

export function parquetReader(file: string): RawBatches {
  const meta = (async () => {
    const lib = await parquetReaderLib();
    const buf = await lib.asyncBufferFromFile(file);
    return { lib, buf, metadata: await lib.parquetMetadataAsync(buf) };
  })();
  return {
    async columns() {
      const { lib, metadata } = await meta;
      return lib.parquetSchema(metadata).children.map((c) => c.element.name);
    },
    async *batches(size) {
      const { lib, buf, metadata } = await meta;
      let budget = readBudget(0, 0);
      const compressors = boundedDecompressors(lib.compressors as Record<string, Decompress>, maxPageBytesFromEnv(), () => budget);
      // hyparquet decodes a row group from its start for every read, so reading it batch by batch is
      // quadratic; read each row group once (in spans of at most SPAN_ROWS rows, fewer for large
      // rows, to bound memory) and cut the batches from that
      let start = 0;
      let pending: Array<Record<string, unknown>> = [];
      for (const [g, group] of metadata.row_groups.entries()) {
        const rows = Number(group.num_rows);
        const end = start + rows;
        const declared = group.columns.reduce((n, c) => n + Number(c.meta_data?.total_uncompressed_size ?? 0), 0);
        const span = spanRows(rows, declared, SPAN_ROWS);
        for (let lo = start; lo < end; lo += span) {
          budget = readBudget(g, declared);
          const read = (await lib.parquetReadObjects({
            file: buf,
            metadata,
            compressors,
            rowStart: lo,
            rowEnd: Math.min(lo + span, end),
          })) as Array<Record<string, unknown>>;
          pending = pending.length ? pending.concat(read) : read;
          let off = 0;
          for (; pending.length - off >= size; off += size) yield pending.slice(off, off + size);
          pending = off ? pending.slice(off) : pending;
        }
        start = end;
      }
      if (pending.length) yield pending;
    },
  };
}

/** Arrow IPC, file or stream format: record batches are read one at a time from the file. */
export function arrowReader(file: string): RawBatches {
  let names: string[] | undefined;
  const reader = async () => {
    const handle = await open(file);
    const r = await (await arrowLib()).RecordBatchReader.from(handle);
    await r.open();
    names = r.schema.fields.map((f) => f.name);
    return { r, handle };
  };
  return {
    async columns() {
      if (!names) {
        const { r, handle } = await reader();
        await r.cancel();
        await handle.close().catch(() => undefined);
      }
      return names!;
    },
    batches: (size) =>
      inBatches(
        (async function* () {
          const { r, handle } = await reader();
          try {
            for await (const batch of r) for (let i = 0; i < batch.numRows; i++) yield batch.get(i)!.toJSON() as Record<string, unknown>;
          } finally {
            await handle.close().catch(() => undefined);
          }
        })(),
        size,
      ),
  };
}

/** Records in arrays of `size` (the last one shorter). */
async function* inBatches(records: AsyncIterable<Record<string, unknown>>, size: number): AsyncGenerator<Array<Record<string, unknown>>> {
  let out: Array<Record<string, unknown>> = [];
  for await (const r of records) {
    out.push(r);
    if (out.length >= size) {
      yield out;
      out = [];
    }
  }
  if (out.length) yield out;
}

/**
 * The lines of a file, each at most `max` bytes: a longer one is an error naming its number, found
 * while it is read (readline would hold it whole, and one over V8's string limit kills the process).
 */
async function* boundedLines(file: string, max: number): AsyncGenerator<string> {
  let parts: Buffer[] = [];
  let size = 0;
  let n = 1;
  const take = () => {
    const line = Buffer.concat(parts, size).toString('utf8');
    parts = [];
    size = 0;
    n++;
    return line.endsWith('\r') ? line.slice(0, -1) : line;
  };
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    let from = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, from)) {
      if (size + nl - from > max) throw new Error(`line ${n} is longer than ${max} bytes (TESSERA_MAX_ROW_BYTES)`);
      parts.push(chunk.subarray(from, nl));
      size += nl - from;
      yield take();
      from = nl + 1;
    }
    if (size + chunk.length - from > max) throw new Error(`line ${n} is longer than ${max} bytes (TESSERA_MAX_ROW_BYTES)`);
    parts.push(chunk.subarray(from));
    size += chunk.length - from;
  }
  if (size) yield take();
}

export function jsonlReader(file: string, maxLineBytes = maxRowBytesFromEnv()): RawBatches {
  let first: string[] | undefined;
  const lines = async function* () {
    let n = 0;
    for await (const line of boundedLines(file, maxLineBytes)) {
      n++;
      if (line.trim() === '') continue;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        throw new Error(`line ${n} is not JSON`);
      }
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`line ${n} is not a JSON object`);
      yield v as Record<string, unknown>;
    }
  };
  return {
    async columns() {
      if (!first) {
        first = [];
        for await (const obj of lines()) {
          first = Object.keys(obj);
          break;
        }
      }
      return first;
    },
    batches: (size) => inBatches(lines(), size),
  };
}

export function csvReader(file: string): RawBatches {
  let header: string[] | undefined;
  const records = () => parseCsv(createReadStream(file, 'utf8'));
  return {
    async columns() {
      if (!header) {
        const it = records();
        const first = await it.next();
        await it.return(undefined);
        header = first.done ? [] : csvHeader(first.value);
      }
      return header;
    },
    batches: (size) => inBatches(csvObjects(createReadStream(file, 'utf8')), size),
  };
}
