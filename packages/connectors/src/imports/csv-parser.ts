import { maxRowBytesFromEnv } from './row-limit';

/**
 * The one CSV reader (`tessera import`, file sources, `tessera insert --format csv`): a streaming
 * RFC 4180 parser: quoted fields may hold commas, quotes ("") and newlines, and a record may span
 * chunks. As in PostgreSQL's COPY ... CSV, an unquoted empty field is null and a quoted one (`""`)
 * is the empty string: `a,""` reads as [null, ''] and `a,` as [null, null]... for a header `x,y`,
 * `1,` is { x: '1', y: null } and `1,""` is { x: '1', y: '' }. Blank lines are skipped. A record
 * longer than `maxRecordChars` (TESSERA_MAX_ROW_BYTES) is refused, naming it: an unclosed quote
 * would otherwise gather the rest of the file into one field.
 */
export async function* parseCsv(
  chunks: AsyncIterable<string | Buffer> | Iterable<string | Buffer>,
  maxRecordChars = maxRowBytesFromEnv(),
): AsyncGenerator<Array<string | null>> {
  let records = 1;
  let recordChars = 0;
  let field = '';
  let wasQuoted = false;
  let record: Array<string | null> = [];
  const take = () => {
    record.push(field === '' && !wasQuoted ? null : field);
    field = '';
    wasQuoted = false;
  };
  let quoted = false;
  let afterQuote = false;
  let pendingCR = false;
  for await (const chunk of chunks) {
    const s = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    const out: Array<Array<string | null>> = [];
    for (let i = 0; i < s.length; i++) {
      const ch = s[i]!;
      if (++recordChars > maxRecordChars)
        throw new Error(
          `record ${records} is longer than ${maxRecordChars} characters (TESSERA_MAX_ROW_BYTES)${quoted ? '; a quote opened in it is never closed' : ''}`,
        );
      if (pendingCR) {
        pendingCR = false;
        if (ch === '\n') continue;
      }
      if (quoted) {
        if (ch === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i++;
          } else if (i + 1 === s.length) {
            // a quote at the chunk's end: decide with the next chunk
            quoted = false;
            afterQuote = true;
          } else {
            quoted = false;
          }
        } else field += ch;
        continue;
      }
      if (afterQuote) {
        afterQuote = false;
        if (ch === '"') {
          field += '"';
          quoted = true;
          continue;
        }
      }
      if (ch === '"' && field === '') quoted = wasQuoted = true;
      else if (ch === ',') take();
      else if (ch === '\n' || ch === '\r') {
        take();
        if (!(record.length === 1 && record[0] === null)) {
          out.push(record);
          records++;
        }
        recordChars = 0;
        record = [];
        pendingCR = ch === '\r';
      } else field += ch;
    }
    yield* out;
  }
  if (field !== '' || wasQuoted || record.length > 0) {
    take();
    yield record;
  }
}

/** Header names, without the byte-order mark spreadsheet programs put first. */
export const csvHeader = (rec: Array<string | null>): string[] => rec.map((h, i) => (i === 0 ? (h ?? '').replace(/^\uFEFF/, '') : (h ?? '')));

/**
 * Records as objects keyed by the first line's names. A record shorter than the header has nulls
 * for the fields it lacks; one longer is refused, naming the record (a stray comma would otherwise
 * shift or lose a value).
 */
export async function* csvObjects(chunks: AsyncIterable<string | Buffer> | Iterable<string | Buffer>): AsyncGenerator<Record<string, string | null>> {
  let names: string[] | undefined;
  let n = 0;
  for await (const rec of parseCsv(chunks)) {
    if (!names) {
      names = csvHeader(rec);
      continue;
    }
    n++;
    if (rec.length > names.length) throw new Error(`row ${n} has ${rec.length} fields; the header names ${names.length}`);
    yield Object.fromEntries(names.map((k, i) => [k, rec[i] ?? null]));
  }
}
