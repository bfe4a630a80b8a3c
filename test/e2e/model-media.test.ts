import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { audioSplitterDef } from '@tessera/iterators';
import { startOpenAIServer, type OpenAIServer } from '../support/openai-server/index';
import { solidPng } from '../support/openai-server/png';
import { runPipeline, type Harness } from '../support/harness';
import { testMediaContext } from '../support/media';
import { sha256 } from '../support/names';
import { tempDir } from '../support/temp-dir';

/**
 * Model UDFs read media cells through the worker's media context: vision over an image column,
 * and transcription of audio segments cut by the audio splitter (the segment's bytes are sent,
 * not the whole recording).
 */
let server: OpenAIServer;
let h: Harness;
const dir = tempDir('tessera-model-media-');
const sha12 = (b: Buffer) => sha256(b).slice(0, 12);

beforeAll(async () => {
  server = await startOpenAIServer();
  process.env.TESSERA_TEST_OPENAI_URL = server.url;
  h = await runPipeline(path.resolve(import.meta.dirname, '../pipelines/model-media'));
});
afterAll(async () => {
  await h.close();
  await server.close();
});

test('vision: each image cell is read and sent as a data URL; a cell that is not an image fails alone; null makes no call', async () => {
  const red = solidPng(32, 16, [200, 10, 10]);
  const blue = solidPng(8, 8, [0, 0, 255]);
  writeFileSync(path.join(dir, 'red.png'), red);
  writeFileSync(path.join(dir, 'blue.png'), blue);
  writeFileSync(path.join(dir, 'note.txt'), 'not an image');
  const ref = (f: string) => pathToFileURL(path.join(dir, f)).href;
  await h.engine.insert('model-media', 'photos', [
    { id: 'red', question: 'What colour?', image: ref('red.png') },
    { id: 'blue', question: 'Which colour is this?', image: ref('blue.png') },
    { id: 'note', question: 'What colour?', image: ref('note.txt') },
    { id: 'none', question: 'What colour?', image: null },
  ]);
  await h.engine.waitIdle('model-media', { timeoutMs: 60_000 });
  const rows = Object.fromEntries((await h.engine.store.select('model-media', 'photos', { withErrors: true })).map((r) => [r.id, r]));
  expect(rows.red!.answer).toBe(`Echo: [image image/png ${red.length} bytes sha256:${sha12(red)}] What colour?`);
  expect(rows.blue!.answer).toBe(`Echo: [image image/png ${blue.length} bytes sha256:${sha12(blue)}] Which colour is this?`);
  expect(rows.none!.answer).toBeNull();
  const errors = await h.engine.store.errors('model-media', 'photos');
  expect(errors).toEqual([expect.objectContaining({ column: 'answer', key: { id: 'note' }, errortype: 'CellInputError' })]);
  expect(errors[0]!.errormsg).toContain('not a PNG, JPEG, GIF or WebP image');
  expect(server.arrivals.filter((a) => a.path.endsWith('/chat/completions'))).toHaveLength(2);
});

test('transcription of audio segments cut by the audio splitter', async () => {
  const wav = path.join(dir, 'talk.wav');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=330:duration=10', '-ar', '16000', '-ac', '1', wav]);
  const media = testMediaContext(h.cfg);
  const segments: Array<{ start: number; end: number; url: string }> = [];
  for await (const s of audioSplitterDef.run(
    pathToFileURL(wav).href,
    { duration: 3 },
    { media, destination: pathToFileURL(path.join(dir, 'segments')).href },
  )) {
    segments.push({ start: s.segmentStart, end: s.segmentEnd, url: s.audioSegment });
  }
  expect(segments.map((s) => [s.start, s.end])).toEqual([
    [0, 3],
    [3, 6],
    [6, 9],
    [9, 10],
  ]);
  await h.engine.insert(
    'model-media',
    'clips',
    segments.map((s) => ({ id: `talk@${s.start}`, audio: s.url })),
  );
  await h.engine.waitIdle('model-media', { timeoutMs: 60_000 });
  const rows = await h.engine.store.select('model-media', 'clips', { withErrors: true });
  const byId = Object.fromEntries(rows.map((r) => [r.id, r.transcript]));
  for (const s of segments) {
    const bytes = readFileSync(fileURLToPath(s.url));
    expect(byId[`talk@${s.start}`]).toBe(`transcript of ${path.basename(fileURLToPath(s.url))}: ${bytes.length} bytes, ${(s.end - s.start).toFixed(2)} s`);
  }
  expect(server.arrivals.filter((a) => a.path.endsWith('/audio/transcriptions') && a.status === 200)).toHaveLength(4);
});
