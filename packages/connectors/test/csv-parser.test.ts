import { csvObjects, parseCsv } from '../src/imports/csv-parser';
import { csvField } from '../src/files/text-formats';

async function parse(chunks: string[]) {
  const out: Array<Array<string | null>> = [];
  for await (const r of parseCsv(
    (async function* () {
      yield* chunks;
    })(),
  ))
    out.push(r);
  return out;
}

test('quotes, doubled quotes, commas and newlines inside fields, CRLF, nulls vs empty strings', async () => {
  const text = 'a,b,c\r\n"x, y","say ""hi""","line1\nline2"\r\n,"",z\n';
  const want = [
    ['a', 'b', 'c'],
    ['x, y', 'say "hi"', 'line1\nline2'],
    [null, '', 'z'],
  ];
  expect(await parse([text])).toEqual(want);
  // the same text cut at every position parses the same: records and quotes may span chunks
  for (let i = 1; i < text.length; i++) expect(await parse([text.slice(0, i), text.slice(i)])).toEqual(want);
});

test('a last line without a newline, and blank lines', async () => {
  expect(await parse(['a,b\n\n1,2'])).toEqual([
    ['a', 'b'],
    ['1', '2'],
  ]);
});

test('what the CSV writer writes, the parser reads back', async () => {
  const values = ['plain', 'with,comma', 'with "quotes"', 'multi\nline', '', null, { j: [1, 'x,y'] }];
  const line = `${values.map(csvField).join(',')}\r\n`;
  expect(await parse([line])).toEqual([['plain', 'with,comma', 'with "quotes"', 'multi\nline', '', null, '{"j":[1,"x,y"]}']]);
});

test('records keyed by the header: unquoted empty is null, quoted empty ("") is the empty string, as in COPY ... CSV', async () => {
  const rows: unknown[] = [];
  for await (const r of csvObjects(['\uFEFFid,note,n\r\n1,"",7\r\n2,,\r\n3,x\r\n'])) rows.push(r);
  expect(rows).toEqual([
    { id: '1', note: '', n: '7' },
    { id: '2', note: null, n: null },
    { id: '3', note: 'x', n: null }, // a short record: the fields it lacks are null
  ]);
});

test('a record with more fields than the header is refused, naming the row', async () => {
  const read = async () => {
    for await (const _ of csvObjects(['a,b\n1,2\n3,4,5\n'])) void _;
  };
  await expect(read()).rejects.toThrow('row 2 has 3 fields; the header names 2');
});

test('a record longer than the limit is refused, naming it; an unclosed quote says so instead of gathering the rest of the file', async () => {
  const read = async (chunks: string[]) => {
    const out: unknown[] = [];
    for await (const r of parseCsv(chunks, 100)) out.push(r);
    return out;
  };
  const line = 'x'.repeat(40);
  expect(await read([`a,b\n${line},${line}\n`])).toHaveLength(2); // 82 characters: within
  await expect(read([`a,b\n${line},${line}\n`, `${line},${line},${line}\n`])).rejects.toThrow('record 3 is longer than 100 characters (TESSERA_MAX_ROW_BYTES)');
  await expect(read([`a,b\n1,"never closed\n`, ...Array.from({ length: 10 }, () => `${line}\n`)])).rejects.toThrow(
    'record 2 is longer than 100 characters (TESSERA_MAX_ROW_BYTES); a quote opened in it is never closed',
  );
});
