/**
 * A streaming RFC 4180 parser: quoted fields may hold commas, quotes ("") and newlines,
 * and a record may span chunks. An unquoted empty field is null; `""` is the empty string.
 */
export async function* parseCsv(chunks: AsyncIterable<string | Buffer>): AsyncGenerator<Array<string | null>> {
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
        if (!(record.length === 1 && record[0] === null)) out.push(record);
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
