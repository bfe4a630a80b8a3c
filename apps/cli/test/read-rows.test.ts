import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRows } from '../src/read-rows';
import { tempDir } from '../../../test/support/temp-dir';

const dir = tempDir('tessera-read-rows-');

test('insert reads CSV as import does: `""` is the empty string, an empty field is null', async () => {
  const file = join(dir, 'rows.csv');
  writeFileSync(file, 'id,note,meta\n1,"",\n2,,"{""a"":1}"\n"3","a, b\nc",x\n');
  expect(await readRows(file)).toEqual([
    { id: '1', note: '', meta: null },
    { id: '2', note: null, meta: '{"a":1}' },
    { id: '3', note: 'a, b\nc', meta: 'x' },
  ]);
});

test('a CSV record longer than its header is refused, naming the file and the row', async () => {
  const file = join(dir, 'ragged.csv');
  writeFileSync(file, 'id,note\n1,a\n2,b,extra\n');
  await expect(readRows(file)).rejects.toThrow(`${file}: row 2 has 3 fields; the header names 2`);
});
