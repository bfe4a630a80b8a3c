import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { testConfig } from '../support/env';
import { cleanup } from '../support/cleanup';
import { cliSettled, runCliOk } from '../support/cli';
import { spawnWorker, type WorkerProcess } from '../support/worker-process';
import { tempDir } from '../support/temp-dir';

/**
 * `tessera errors` as a user reads it, through the real CLI: the whole message of every failed file
 * (its path and the cause come last, far past 60 characters), wrapped without losing a character,
 * and `--json`.
 */
const cfg = testConfig({ TESSERA_PIPELINES: path.resolve(import.meta.dirname, '../pipelines/doc-errors') });
const env = cfg.env;
let worker: WorkerProcess;
const dir = tempDir('tessera-cli-errors-');

beforeAll(async () => {
  worker = await spawnWorker(env);
});
afterAll(async () => {
  await worker?.stop();
  await cleanup(cfg);
});

const cli = (args: string[], extraEnv: Record<string, string> = {}, stdin?: string) => runCliOk(args, { ...env, ...extraEnv }, stdin);

test('failed files are listed with their whole messages, wrapped or as JSON', async () => {
  const deep = path.join(dir, 'quarterly reports archive', 'finance-and-operations-department');
  await mkdir(deep, { recursive: true });
  const truncated = path.join(deep, 'q3-2026 board summary.pdf');
  await writeFile(truncated, '%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n'); // cut short: no %%EOF
  const missing = path.join(deep, 'this file was never uploaded.md');
  const good = path.join(dir, 'fine.md');
  await writeFile(good, '# Fine\n\nOne paragraph.\n\nAnother paragraph.\n');

  await cli(['apply', 'doc-errors']);
  const rows = [
    { id: 'truncated', doc: truncated },
    { id: 'missing', doc: missing },
    { id: 'good', doc: good },
  ];
  await cli(['insert', 'doc-errors', 'docs', '-'], {}, JSON.stringify(rows));
  await cliSettled('doc-errors', env);

  const json = JSON.parse(await cli(['errors', 'doc-errors', 'docs', '--json'])) as Array<{
    column: string;
    key: Record<string, string>;
    errortype: string;
    errormsg: string;
  }>;
  expect(json.map((e) => e.key.id).sort()).toEqual(['missing', 'truncated']);
  const byId = Object.fromEntries(json.map((e) => [e.key.id, e]));
  expect(byId.truncated!.column).toBe('chunks');
  expect(byId.truncated!.errormsg).toContain(truncated);
  expect(byId.truncated!.errormsg).toMatch(/the PDF is truncated \(no %%EOF at the end\)$/);
  expect(byId.missing!.errormsg).toContain(missing);
  expect(byId.missing!.errormsg).toMatch(/not found/);
  for (const e of json) expect(e.errormsg.length).toBeGreaterThan(100);

  // piped, no COLUMNS: each message whole on its own line
  const plain = await cli(['errors', 'doc-errors', 'docs'], { COLUMNS: '' });
  expect(plain).toMatch(/^doc-errors\.docs: 2 failed cell\(s\)\n/);
  for (const e of json) {
    expect(plain).toContain(`chunks  ${JSON.stringify(e.key)}  ${e.errortype}\n    ${e.errormsg}\n`);
  }

  // a narrow terminal: lines wrapped at spaces, none wider than 60 unless one word is, nothing lost
  const narrow = await cli(['errors', 'doc-errors', 'docs'], { COLUMNS: '60' });
  const lines = narrow.split('\n');
  for (const l of lines) if (l.length > 60) expect(l.trim()).not.toContain(' ');
  const blocks = narrow.split('\n\n').slice(1);
  expect(blocks).toHaveLength(2);
  for (const b of blocks) {
    const [head, ...body] = b.trimEnd().split('\n');
    const e = json.find((x) => head === `chunks  ${JSON.stringify(x.key)}  ${x.errortype}`)!;
    expect(e).toBeDefined();
    expect(body.length).toBeGreaterThan(1);
    expect(body.map((l) => l.replace(/^ {4}/, '')).join(' ')).toBe(e.errormsg);
  }

  expect(await cli(['errors', 'doc-errors', 'docs', '--limit', '1'], { COLUMNS: '' })).toMatch(
    /^doc-errors\.docs: 1 failed cell\(s\) \(the first 1; --limit N for more\)\n/,
  );
  expect(await cli(['errors', 'doc-errors', 'chunks'])).toBe('doc-errors.chunks: no failed cells\n');
});
