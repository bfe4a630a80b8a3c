import net from 'node:net';
import path from 'node:path';
import { Queue, QueueEvents, type Job } from 'bullmq';
import { Engine, loadConfig } from '@tessera/runtime';
import { startHarness, type Harness } from '../support/harness';
import { spawnWorker, type WorkerProcess } from '../support/worker-process';
import { runCli } from '../support/cli';

/**
 * Hostile values through the documented ingest queue, into a real worker process: each bad job
 * fails alone with a reason naming row, column and cause (NUL bytes, lone surrogates, impossible
 * dates, integers beyond 2^53, deep or huge JSON, an oversized payload), the worker stays up and
 * takes the next good job. The TypeScript client checks JSON schemas as the worker does. The
 * worker's HTTP endpoints listen on loopback, take no control action without a token, and survive
 * slow and oversized requests. The CLI shows data without terminal escapes.
 */
const PIPELINE = path.resolve(import.meta.dirname, '../pipelines/hostile');

let h: Harness;
let worker: WorkerProcess;
let queue: Queue;
let events: QueueEvents;

beforeAll(async () => {
  h = await startHarness(PIPELINE, { TESSERA_MAX_VALUE_BYTES: '100000', TESSERA_MAX_INGEST_BYTES: '1000000', TESSERA_MAX_JSON_DEPTH: '32' });
  await h.engine.apply(h.def);
  worker = await spawnWorker(h.cfg.env);
  queue = new Queue('ingest', { connection: h.engine.redis, prefix: h.cfg.queuePrefix });
  events = new QueueEvents('ingest', { connection: h.engine.redis.duplicate(), prefix: h.cfg.queuePrefix });
  await events.waitUntilReady();
});

afterAll(async () => {
  await events?.close();
  await queue?.close();
  await worker?.stop();
  await h?.close();
});

/** Add an ingest job as any producer would; resolves with its failed reason, or undefined when it completed. */
async function ingest(rows: unknown[]): Promise<string | undefined> {
  const job: Job = await queue.add('insert', { pipeline: 'hostile', table: 'docs', op: 'insert', rows });
  try {
    await job.waitUntilFinished(events, 60_000);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

let deep: Record<string, unknown> = { end: true };
for (let i = 0; i < 100; i++) deep = { d: deep };

test.each([
  ['a NUL byte in a string', [{ id: 'ok-1' }, { id: 'a', note: 'x\0y' }], /docs row 2: column note: text contains a NUL byte \(\\u0000\) at character 2/],
  ['a NUL byte in JSON', [{ id: 'b', meta: { tag: 't', v: ['a', 'b\0'] } }], /docs row 1: column meta at v\[1\]: text contains a NUL byte/],
  ['a NUL byte in a JSON key', [{ id: 'b2', meta: { tag: 't', 'k\0': 1 } }], /docs row 1: column meta at k.* \(key\): text contains a NUL byte/],
  ['a lone surrogate in a string', [{ id: 'c', note: 'ok \uD800 then' }], /docs row 1: column note: text contains a lone surrogate \(\\uD800\) at character 4/],
  ['a lone surrogate in JSON', [{ id: 'c2', meta: { tag: '\uDC00' } }], /docs row 1: column meta at tag: text contains a lone surrogate \(\\uDC00\)/],
  ['a NUL byte in a media reference', [{ id: 'c3', doc: 'a\0b.pdf' }], /docs row 1: column doc: text contains a NUL byte/],
  ['an impossible date', [{ id: 'd', at: '2024-02-30' }], /docs row 1: column at: "2024-02-30" is not a real date or time \(day 30 of a month with 29 days\)/],
  ['an impossible time', [{ id: 'd2', at: '2024-01-01T25:00:00Z' }], /column at: .* is not a real date or time \(hour 25\)/],
  ['an integer beyond 2^53', [{ id: 'e', n: '1234567890123456789' }], /docs row 1: column n: 1234567890123456789 is beyond ±2\^53/],
  ['an unsafe integer as a number', [{ id: 'e2', n: 2 ** 60 }], /docs row 1: column n: .* is beyond ±2\^53/],
  ['JSON nested too deep', [{ id: 'f', meta: { tag: 't', deep } }], /docs row 1: column meta: JSON nested deeper than 32 levels \(TESSERA_MAX_JSON_DEPTH\)/],
  [
    'a value over the size limit',
    [{ id: 'g', note: 'a'.repeat(150_000) }],
    /docs row 1: column note: value larger than 100000 bytes \(TESSERA_MAX_VALUE_BYTES\)/,
  ],
  [
    'a payload over the size limit',
    Array.from({ length: 2000 }, (_, i) => ({ id: `big-${i}`, note: 'x'.repeat(900) })),
    /ingest payload is larger than 1000000 bytes \(TESSERA_MAX_INGEST_BYTES\)/,
  ],
])('%s fails its ingest job alone, naming row, column and cause', async (_what, rows, reason) => {
  expect(await ingest(rows)).toMatch(reason);
});

test('after every bad job the worker is up, takes good jobs, and stored nothing of the bad ones', async () => {
  expect(await ingest([{ id: 'good', note: 'fine \u{1F600}', n: '9007199254740991', at: '2024-02-29T12:00:00Z', meta: { tag: 'ok' } }])).toBeUndefined();
  const rows = await h.engine.store.select('hostile', 'docs', { limit: 100 });
  expect(rows.map((r) => r.id)).toEqual(['good']);
  expect(rows[0]).toMatchObject({ note: 'fine \u{1F600}', n: 9007199254740991, meta: { tag: 'ok' } });
  expect((rows[0]!.at as Date).toISOString()).toBe('2024-02-29T12:00:00.000Z');
  expect(worker.child.exitCode).toBeNull();
});

test('the TypeScript client, used as the README shows, checks JSON schemas like the worker', async () => {
  const client = await Engine.connect(loadConfig(h.cfg.env)); // no apply, no define: the code comes from TESSERA_PIPELINES
  try {
    await expect(client.insert('hostile', 'docs', [{ id: 'ts-1', meta: { tag: 5 } }])).rejects.toThrow(
      /docs row 1: column meta: expected JSON matching its schema \(tag: /,
    );
    await expect(client.insert('hostile', 'docs', [{ id: 'ts-2', note: 'a\0b' }])).rejects.toThrow(/column note: text contains a NUL byte/);
  } finally {
    await client.close();
  }
});

test('the worker HTTP endpoints: loopback by default, no control action without a token, slow and oversized requests cut off', async () => {
  expect(worker.output()).toMatch(/"host":"127\.0\.0\.1"/);
  const base = `http://127.0.0.1:${worker.port}`;
  // a slow client holding a half-sent request does not block others
  const slow = net.connect(worker.port, '127.0.0.1');
  slow.on('error', () => undefined);
  slow.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  try {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await fetch(`${base}/healthz`, { method, headers: { authorization: 'Bearer guess-guess-guess-guess' } });
      expect([method, res.status]).toEqual([method, 403]);
      expect(await res.json()).toEqual({ error: 'control actions are disabled (no TESSERA_WORKER_TOKEN)' });
    }
    expect((await fetch(`${base}/healthz`, { headers: { 'x-big': 'a'.repeat(20_000) } })).status).toBe(431);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  } finally {
    slow.destroy();
  }
});

test('select and errors show data with terminal escapes neutralised', async () => {
  const evil = 'title\u001b]0;pwned\u0007 \u001b[2J\u009b31m\u202Eevil';
  await h.engine.insert('hostile', 'docs', [{ id: 'esc', note: evil, doc: `/nowhere/\u001b[31mred.md` }]);
  await h.engine.waitIdle('hostile', { timeoutMs: 60_000 });
  const table = await runCli(['select', 'hostile', 'docs'], h.cfg.env);
  const json = await runCli(['select', 'hostile', 'docs', '--json'], h.cfg.env);
  const errors = await runCli(['errors', 'hostile', 'docs'], h.cfg.env);
  for (const out of [table, json, errors]) {
    expect(out.code).toBe(0);
    expect(out.stdout).not.toMatch(/[\u001b\u0007\u009b\u202e]/);
  }
  expect(table.stdout).toContain('title\\u001b]0;pwned\\u0007 \\u001b[2J\\u009b31m\\u202eevil');
  expect(JSON.parse(json.stdout).find((r: { id: string }) => r.id === 'esc').note).toBe(evil); // still the data, as JSON escapes
  expect(errors.stdout).toContain('\\u001b[31mred.md');
});
