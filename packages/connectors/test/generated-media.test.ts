import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { defineUdf, evaluate, t, type UdfContext } from '@tessera/core';
import { createMediaContext } from '@tessera/connectors';
import { testMediaPolicy } from './support/media-policy';

/**
 * A media-typed UDF may return bytes or a local file instead of a reference: evaluating it writes
 * the media to the column's destination (or the default one) as `<sha256>.<ext>` and yields the URL.
 */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-generated-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de', 'hex');
const WAV = Buffer.concat([Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1'), Buffer.alloc(28)]);

async function run(result: unknown, destination?: string) {
  const udf = defineUdf({ name: 'gen', version: '1', params: [t.string()], returns: t.image(), fn: () => result as never });
  const media = createMediaContext({ policy: testMediaPolicy(), defaultDestination: path.join(dir, 'default'), cacheDir: path.join(dir, 'cache') });
  const ctx: UdfContext = { media, column: { table: 'x', name: 'pic', ...(destination ? { destination } : {}) } };
  const [out] = await evaluate(udf('a prompt').node, [{}], { udfs: new Map([[udf.id, udf as never]]), ctx, read: () => ({ pending: true }) });
  return out!;
}

test('bytes are sniffed, written under their hash, to the column destination or the default', async () => {
  expect(await run(PNG)).toEqual({ value: path.join(dir, 'default', `${sha(PNG)}.png`) });
  expect(await readFile(path.join(dir, 'default', `${sha(PNG)}.png`))).toEqual(PNG);
  expect(await run(new Uint8Array(WAV), `file://${dir}/col`)).toEqual({ value: `file://${dir}/col/${sha(WAV)}.wav` });
  expect(await run({ data: Buffer.from('plain text'), extension: 'txt', contentType: 'text/plain' })).toEqual({
    value: path.join(dir, 'default', `${sha(Buffer.from('plain text'))}.txt`),
  });
  expect(await run('s3://already/there.png')).toEqual({ value: 's3://already/there.png' }); // a reference passes through
});

test("a file is uploaded and, when temporary, removed; unknown or empty media is that row's error", async () => {
  const file = path.join(dir, 'tone.wav');
  await writeFile(file, WAV);
  expect(await run({ file, temporary: true })).toEqual({ value: path.join(dir, 'default', `${sha(WAV)}.wav`) });
  await expect(stat(file)).rejects.toThrow();
  const unknown = await run(Buffer.from('no signature here'));
  expect(unknown).toEqual({
    error: { type: 'CellInputError', message: expect.stringContaining('cannot tell the media type of the bytes the UDF returned; return { data, extension }') },
  });
  expect(await run(Buffer.alloc(0))).toEqual({ error: { type: 'CellInputError', message: 'gen result for x.pic: the UDF returned empty media' } });
  expect(await run({ file: path.join(dir, 'missing.png') })).toMatchObject({
    error: { type: 'CellInputError', message: expect.stringContaining('cannot be read') },
  });
});
