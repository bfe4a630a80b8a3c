import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { testConfig } from '../support/env';
import { cleanup } from '../support/cleanup';
import { cliSettled, runCli, runCliOk } from '../support/cli';
import { SHAPES } from '../support/harness';
import { spawnWorker, type WorkerProcess } from '../support/worker-process';
import { tempDir } from '../support/temp-dir';

/** The `tessera` CLI as a user runs it: real processes against the real services. */
const cfg = testConfig({ TESSERA_PIPELINES: path.dirname(SHAPES) });
const env = cfg.env;
let worker: WorkerProcess;
const dir = tempDir('tessera-cli-');

beforeAll(async () => {
  worker = await spawnWorker(env);
});
afterAll(async () => {
  await worker?.stop();
  await cleanup(cfg);
});

const ok = (args: string[], stdin?: string) => runCliOk(args, env, stdin);
const settled = () => cliSettled('shapes', env);

test('apply, insert from CSV on stdin and from a JSONL file, status, select, errors, versions', async () => {
  expect(await ok(['apply', 'shapes'])).toBe('shapes.items v1: created\n');
  expect(await ok(['apply', 'shapes'])).toBe('shapes: catalog already matches the definition\n');

  const csv = 'id,text,n,meta\nc1,hello there,1,\nc2,"seven, words",7,"{""tag"":""x""}"\n';
  expect(await ok(['insert', 'shapes', 'items', '-', '--format', 'csv'], csv)).toBe('shapes.items v2: inserted 2 row(s)\n');
  const jsonl = path.join(dir, 'rows.jsonl');
  await writeFile(jsonl, ['{"id":"j1","text":"from jsonl","n":3,"meta":{"tag":"y"}}', '{"id":"j2","text":"again","n":14,"meta":null}'].join('\n'));
  expect(await ok(['insert', 'shapes', 'items', jsonl])).toBe('shapes.items v3: inserted 2 row(s)\n');

  const status = await settled();
  expect(status).toContain('shapes.items (table, v3): 4 row(s)');
  expect(status).toMatch(/ratio\s+\[#+x+\]\s+100%\s+done 2\s+pending 0\s+failed 2/);

  const rows = JSON.parse(await ok(['select', 'shapes', 'items', '--json', '--columns', 'id,upper,tagged']));
  expect(rows).toEqual([
    { id: 'c1', upper: 'HELLO THERE', tagged: 'null#1' },
    { id: 'c2', upper: 'SEVEN, WORDS', tagged: 'x#7' },
    { id: 'j1', upper: 'FROM JSONL', tagged: 'y#3' },
    { id: 'j2', upper: 'AGAIN', tagged: 'null#14' },
  ]);
  const errors = await ok(['errors', 'shapes', 'items']);
  expect(errors).toContain('n=7 is a multiple of 7');
  expect(errors).toContain('n=14 is a multiple of 7');

  const versions = await ok(['versions', 'shapes', 'items']);
  expect(versions).toMatch(/\n2\s+insert\s+2\s+0\s+0\s+1\s/);
  expect(versions).toMatch(/\n3\s+insert\s+2\s+0\s+0\s+1\s/);
});

test('update and delete from stdin, reading an old version, revert, errors-only recompute, reconcile', async () => {
  expect(await ok(['update', 'shapes', 'items', '-'], '[{"id":"c1","text":"changed text"}]')).toBe('shapes.items v4: updated 1 row(s)\n');
  expect(await ok(['delete', 'shapes', 'items', '-'], '{"id":"j2"}')).toBe('shapes.items v5: deleted 1 row(s)\n');
  await settled();
  const now = JSON.parse(await ok(['select', 'shapes', 'items', '--json', '--columns', 'id,upper']));
  expect(now).toEqual([
    { id: 'c1', upper: 'CHANGED TEXT' },
    { id: 'c2', upper: 'SEVEN, WORDS' },
    { id: 'j1', upper: 'FROM JSONL' },
  ]);
  const v3 = JSON.parse(await ok(['select', 'shapes', 'items', '--json', '--columns', 'id,upper', '--version', '3']));
  expect(v3.map((r: { id: string }) => r.id)).toEqual(['c1', 'c2', 'j1', 'j2']);
  expect(v3[0].upper).toBe('HELLO THERE');

  expect(await ok(['revert', 'shapes', 'items'])).toBe('shapes.items: reverted version 5\n');
  expect(JSON.parse(await ok(['select', 'shapes', 'items', '--json', '--columns', 'id'])).length).toBe(4);

  expect(await ok(['recompute', 'shapes', 'items', '--errors-only', '--columns', 'ratio'])).toMatch(/v\d+: 2 failed cell\(s\) enqueued again\n/);
  await settled();
  expect(await ok(['reconcile', 'shapes'])).toBe('shapes.items: 0 batch(es) with pending cells, 0 covered by live jobs, 0 enqueued\n');
});

test('bad input and bad configuration get clear errors and a non-zero exit', async () => {
  const bad = await runCli(['insert', 'shapes', 'items', '-'], env, '[{"id":"z","text":"t","n":"many"}]');
  expect(bad.code).toBe(1);
  expect(bad.stderr).toBe('tessera: items row 1: column n: expected an integer, got string "many"\n');
  const unknown = await runCli(['insert', 'shapes', 'items', '-'], env, '[{"id":"z","text":"t","n":1,"upper":"X"}]');
  expect(unknown.stderr).toMatch(/column upper is computed and cannot be written/);
  const config = await runCli(['status', 'shapes'], { ...env, TESSERA_BATCH_SIZE: 'lots', TESSERA_REDIS_URL: 'nope' });
  expect(config.code).toBe(1);
  expect(config.stderr).toMatch(/invalid configuration: .*TESSERA_REDIS_URL: .*TESSERA_BATCH_SIZE: /);
  const down = await runCli(['status', 'shapes'], { ...env, TESSERA_REDIS_URL: 'redis://127.0.0.1:1' });
  expect(down.stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1.*scripts\/start-services\.sh or docker compose/);
});

test('upsert from stdin inserts new keys and updates existing ones; versions shows the request a version holds', async () => {
  expect(await ok(['upsert', 'shapes', 'items', '-', '--request-id', 'up-cli-1'], '[{"id":"c2","n":8},{"id":"u1","text":"new by upsert","n":2}]')).toMatch(
    /^shapes\.items v(\d+): upserted 2 row\(s\) \(1 inserted, 1 updated\)\n$/,
  );
  expect(await ok(['upsert', 'shapes', 'items', '-', '--request-id', 'up-cli-1'], '[{"id":"c2","n":8},{"id":"u1","text":"new by upsert","n":2}]')).toMatch(
    /upserted 2 row\(s\) \(request already applied\)\n$/,
  );
  const reused = await runCli(['upsert', 'shapes', 'items', '-', '--request-id', 'up-cli-1'], env, '[{"id":"c2","n":9}]');
  expect(reused.stderr).toMatch(/request id "up-cli-1" was already used for a different write \(upsert of 2 row\(s\), version \d+\)/);
  await settled();
  const rows = JSON.parse(await ok(['select', 'shapes', 'items', '--json', '--columns', 'id,n,upper']));
  expect(rows.filter((r: { id: string }) => ['c2', 'u1'].includes(r.id))).toEqual([
    { id: 'c2', n: 8, upper: 'SEVEN, WORDS' },
    { id: 'u1', n: 2, upper: 'NEW BY UPSERT' },
  ]);
  const versions = await ok(['versions', 'shapes', 'items']);
  const m = /\n(\d+)\s+upsert\s+1\s+1\s+0\s+\d+\s+1: up-cli-1\s/.exec(versions);
  expect(m).not.toBeNull();
  expect(await ok(['versions', 'shapes', 'items', '--version', m![1]!])).toMatch(/up-cli-1\s+upsert\s+2/);
});

test('--wait returns once the version is computed: the cells the workers compute are there when it returns', async () => {
  const out = await ok(
    ['insert', 'shapes', 'items', '-', '--wait', '--timeout', '120'],
    '[{"id":"w1","text":"wait for me","n":21},{"id":"w2","text":"me too","n":4}]',
  );
  expect(out).toMatch(/^shapes\.items v(\d+): inserted 2 row\(s\)\nshapes\.items v\1: computed and exported in [\d.]+ s\n$/);
  // `ratio` fails for n = 21: the insert leaves that cell to the workers, which record why
  const [w1] = JSON.parse(await ok(['select', 'shapes', 'items', '--json', '--errors', '--columns', 'id,ratio'])).filter((r: { id: string }) => r.id === 'w1');
  expect(w1).toMatchObject({ id: 'w1', ratio: null, ratio_errormsg: 'n=21 is a multiple of 7' });
  const updated = await ok(['update', 'shapes', 'items', '-', '--wait'], '[{"id":"w2","n":5}]');
  expect(updated).toMatch(/: updated 1 row\(s\)\n.*: computed and exported in /);
  const [w2] = JSON.parse(await ok(['select', 'shapes', 'items', '--json', '--columns', 'id,ratio'])).filter((r: { id: string }) => r.id === 'w2');
  expect(w2.ratio).toBeCloseTo(1 / 5);

  const stray = await runCli(['insert', 'shapes', 'items', '-', '--timeout', '5'], env, '[{"id":"w3","text":"t","n":1}]');
  expect(stray.stderr).toBe('tessera: --timeout goes with --wait\n');
  const bad = await runCli(['insert', 'shapes', 'items', '-', '--wait', '--timeout', 'soon'], env, '[{"id":"w3","text":"t","n":1}]');
  expect(bad.stderr).toBe('tessera: --timeout must be a positive number of seconds, not soon\n');
  expect(JSON.parse(await ok(['select', 'shapes', 'items', '--json', '--columns', 'id'])).some((r: { id: string }) => r.id === 'w3')).toBe(false);
});
