import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { DuckDBInstance } from '@duckdb/node-api';
import { startHarness } from '../harness';
import { spawnWorker, type WorkerProcess } from '../worker-process';
import { startOwnRedis } from '../faults/own-redis';
import type { OwnPostgres } from '../faults/own-postgres';
import type { Fault, OpenAIServer } from '../openai-server/index';
import { chaosPipeline } from '../../pipelines/chaos/index';

export const CHAOS_PIPELINE_DIR = path.resolve(import.meta.dirname, '../../pipelines/chaos');

/** What a scenario does to the fleet while the pipeline runs. */
export interface Disturbance {
  /** SIGKILL one of the 3 workers (and start a new one) this often */
  killEveryMs?: number;
  /** FLUSHALL the run's own Redis once this share of the model cells is done */
  flushAt?: number;
  /** stop the export target (its own Postgres cluster) this long, shortly after the start */
  targetDownMs?: number;
  /** this share of model requests answered 500 or 429 */
  modelFaultRate?: number;
  /** inserts, then 10% of the rows updated and 5% deleted */
  churn?: boolean;
  /** apply a new UDF version (same values) once this share is done, then roll the workers */
  newCodeAt?: number;
}

export interface ScenarioResult {
  scenario: string;
  rows: number;
  viewRows: number;
  /** checksums of the live rows: in the record, the customer's table, the Parquet files (read back by DuckDB) */
  record: string;
  view: string;
  customer: string;
  parquet: string;
  /** model requests answered vs model cells (chat: one per cell; embeddings: inputs) */
  chatRequests: number;
  chatCells: number;
  embedInputs: number;
  embedCells: number;
  kills: number;
  ms: number;
  /** `tessera reconcile` or any other hand-run step: always 0, the fleet does it */
  manualSteps: 0;
  error?: string;
}

export interface ScenarioEnv {
  rows: number;
  /** the export target: a cluster of the harness's own */
  customer: OwnPostgres;
  openai: OpenAIServer;
  exportDir: string;
  timeoutMs: number;
  log?: (line: string) => void;
  /** more settings for the engine and the workers (TESSERA_CONCURRENCY...) */
  settings?: Record<string, string>;
}

const CUSTOMER_SCHEMA = 'chaos';
const textOf = (i: number, edited = false) => `Row ${i} talks about item ${i % 97}. It has a second sentence${edited ? ', edited' : ''}.`;
const sha = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16);

/**
 * One scenario of the chaos harness: the chaos pipeline over `rows` rows on 3 worker processes,
 * with its own Redis, the given disturbance, and nobody running anything by hand; then the
 * checksums of what the record, the customer's table and the Parquet files hold.
 */
export async function runScenario(name: string, d: Disturbance, env: ScenarioEnv): Promise<ScenarioResult> {
  const started = Date.now();
  const log = env.log ?? (() => undefined);
  const redis = await startOwnRedis();
  const customerDb = new pg.Pool({ connectionString: env.customer.url, max: 2 });
  customerDb.on('error', () => undefined);
  customerDb.on('connect', (c) => c.on('error', () => undefined));
  await customerDb.query(`DROP SCHEMA IF EXISTS ${CUSTOMER_SCHEMA} CASCADE`);
  await fs.rm(env.exportDir, { recursive: true, force: true });
  env.openai.reset();
  if (d.modelFaultRate) {
    const every = Math.round(1 / d.modelFaultRate);
    const faults: Fault[] = Array.from({ length: env.rows * 4 }, (_, i) =>
      i % every === every - 1 ? { kind: 'status', status: i % (2 * every) === every - 1 ? 429 : 500 } : { kind: 'delay', ms: 0 },
    );
    env.openai.inject(faults);
  }
  const batch = String(Math.max(50, Math.min(1000, Math.round(env.rows / 20))));
  const h = await startHarness(CHAOS_PIPELINE_DIR, {
    TESSERA_REDIS_URL: redis.url,
    TESSERA_BATCH_SIZE: batch,
    TESSERA_RECONCILE_EVERY_MS: '2000',
    // the production grace: under load a write's jobs can take seconds to be enqueued after its
    // commit, and a reconcile that does not wait for them enqueues the same rows twice
    TESSERA_RECONCILE_GRACE_MS: '10000',
    TESSERA_EXPORT_RETRY_MAX_MS: '2000',
    TESSERA_LOG_LEVEL: 'warn',
    // the production lock (30 s) rather than the tests' 4 s: on a loaded machine a short lock lapses
    // while the job runs, and a second worker takes it; 15 s still recovers killed workers' jobs soon
    TESSERA_LOCK_MS: '15000',
    ...env.settings,
  });
  const workerEnv = (version: string) => ({
    ...h.cfg.env,
    TESSERA_TEST_OPENAI_URL: env.openai.url,
    CHAOS_CUSTOMER_URL: env.customer.url,
    CHAOS_CUSTOMER_SCHEMA: CUSTOMER_SCHEMA,
    CHAOS_EXPORT_DIR: env.exportDir,
    CHAOS_UPPER_VERSION: version,
  });
  let version = '1';
  let workers: WorkerProcess[] = [];
  let kills = 0;
  let stopped = false;
  const timers: NodeJS.Timeout[] = [];
  const background: Array<Promise<unknown>> = [];
  const result: ScenarioResult = {
    scenario: name,
    rows: 0,
    viewRows: 0,
    record: '',
    view: '',
    customer: '',
    parquet: '',
    chatRequests: 0,
    chatCells: 0,
    embedInputs: 0,
    embedCells: 0,
    kills: 0,
    ms: 0,
    manualSteps: 0,
  };
  try {
    await h.engine.apply(chaosPipeline('1'));
    // a worker slow to start on a loaded machine is tried again
    const startOne = async () => {
      for (let k = 1; ; k++) {
        try {
          return await spawnWorker(workerEnv(version));
        } catch (e) {
          if (k >= 3) throw e;
        }
      }
    };
    workers = await Promise.all([0, 1, 2].map(() => startOne()));
    const modelDone = async () => {
      const s = await h.engine.store.status('chaos', 'items');
      return (s.columns.find((c) => c.column === 'summary')?.done ?? 0) / Math.max(1, env.rows);
    };
    const when = (share: number, what: () => Promise<void>) =>
      background.push(
        (async () => {
          while (!stopped && (await modelDone().catch(() => 0)) < share) await sleep(200);
          if (!stopped) await what();
        })(),
      );
    if (d.killEveryMs) {
      // kills start once the run is under way. A kill waits for the fleet to be whole again: on a
      // loaded machine a replacement can take minutes to start, and kills that did not wait would
      // pile up starting workers (each compiling the code) until the machine does nothing else.
      let replacing = false;
      timers.push(
        setInterval(() => {
          if (stopped || replacing) return;
          replacing = true;
          const i = Math.floor(Math.random() * workers.length);
          const victim = workers[i]!;
          kills++;
          background.push(
            victim
              .kill('SIGKILL')
              .then(async () => {
                // a replacement slow to start is killed by spawnWorker and tried again, never fatal
                for (let k = 0; k < 5 && !stopped; k++) {
                  const next = await spawnWorker(workerEnv(version)).catch(() => undefined);
                  if (!next) continue;
                  if (stopped) await next.kill('SIGKILL');
                  else workers[i] = next;
                  return;
                }
              })
              .finally(() => (replacing = false)),
          );
        }, d.killEveryMs),
      );
    }
    if (d.flushAt !== undefined) when(d.flushAt, async () => (log(`${name}: FLUSHALL`), await redis.flushAll()));
    if (d.targetDownMs) {
      background.push(
        (async () => {
          await sleep(1000);
          log(`${name}: export target down for ${d.targetDownMs} ms`);
          await env.customer.stop();
          await sleep(d.targetDownMs!);
          await env.customer.start();
          log(`${name}: export target back`);
        })(),
      );
    }
    if (d.newCodeAt !== undefined) {
      when(d.newCodeAt, async () => {
        // deploy order under test: apply the new code first (old workers refuse its jobs), then roll the workers
        log(`${name}: apply chaos_upper@2, then a rolling restart`);
        await h.engine.apply(chaosPipeline('2'), { recompute: true });
        version = '2';
        for (let i = 0; i < workers.length; i++) {
          const next = await spawnWorker(workerEnv(version));
          const old = workers[i]!;
          workers[i] = next;
          await old.stop();
        }
      });
    }

    // the producer: inserts in 10 writes; with churn, then 10% updated and 5% deleted
    const chunk = Math.ceil(env.rows / 10);
    for (let from = 0; from < env.rows; from += chunk) {
      const rows = [];
      for (let i = from; i < Math.min(env.rows, from + chunk); i++) rows.push({ id: `r${String(i).padStart(6, '0')}`, text: textOf(i), n: i });
      await h.engine.insert('chaos', 'items', rows);
      await sleep(100);
    }
    let texts = env.rows;
    if (d.churn) {
      const updated = [];
      for (let i = 0; i < env.rows; i += 10) updated.push({ id: `r${String(i).padStart(6, '0')}`, text: textOf(i, true), n: i });
      for (let k = 0; k < updated.length; k += chunk) await h.engine.update('chaos', 'items', updated.slice(k, k + chunk));
      texts += updated.length;
      const deleted = [];
      for (let i = 3; i < env.rows; i += 20) deleted.push({ id: `r${String(i).padStart(6, '0')}` });
      for (let k = 0; k < deleted.length; k += chunk) await h.engine.delete('chaos', 'items', deleted.slice(k, k + chunk));
    }

    const progress = setInterval(() => {
      void (async () => {
        const st = await Promise.all(['items', 'words'].map((t) => h.engine.store.status('chaos', t).catch(() => undefined)));
        log(
          `${name}: ${st.map((x, k) => `${k ? 'words' : 'items'} ${x?.columns.map((c) => `${c.column} ${c.done}/${c.pending}/${c.failed}`).join(' ')}`).join(' | ')}`,
        );
      })();
    }, 10_000);
    timers.push(progress);
    await h.engine.waitIdle('chaos', { timeoutMs: env.timeoutMs });
    // a scenario's disturbances end before the exports are judged (the target back, the code rolled)
    stopped = true;
    timers.forEach((t) => clearInterval(t));
    await Promise.all(background);

    const readRecord = async () => {
      const items = await h.engine.store.select('chaos', 'items', { columns: ['id', 'text', 'n', 'shout', 'summary', 'embedding'], orderBy: ['id'] });
      const words = await h.engine.store.select('chaos', 'words', { columns: ['id', 'pos', 'text', 'loud'] });
      words.sort((a, b) => String(a.id).localeCompare(String(b.id)) || Number(a.pos) - Number(b.pos));
      return { items, words };
    };
    const { items, words } = await readRecord();
    result.rows = items.length;
    result.viewRows = words.length;
    result.record = sha(items.map((r) => [r.id, r.text, r.n, r.shout, r.summary, r.embedding]));
    result.view = sha(words.map((r) => [r.id, r.pos, r.text, r.loud]));
    const wantCustomer = sha(items.map((r) => [r.id, r.text, r.n, r.shout, r.summary]));
    const wantParquet = sha(items.map((r) => [r.id, r.text, r.shout]));
    // the exports follow the record (eventually): poll until equal or the time is up
    const end = Date.now() + env.timeoutMs / 2;
    for (;;) {
      result.customer = await customerChecksum(customerDb).catch((e: Error) => `unreadable: ${e.message}`);
      result.parquet = await parquetChecksum(env.exportDir).catch((e: Error) => `unreadable: ${e.message}`);
      if ((result.customer === wantCustomer && result.parquet === wantParquet) || Date.now() > end) break;
      await sleep(1000);
    }
    if (result.customer !== wantCustomer) result.error = `customer table differs from the record`;
    if (result.parquet !== wantParquet) result.error = `${result.error ? `${result.error}; ` : ''}Parquet files differ from the record`;
    // back to record terms so runs compare: equal exports carry the record's own checksum
    if (result.customer === wantCustomer) result.customer = result.record;
    if (result.parquet === wantParquet) result.parquet = result.record;
    const ok = env.openai.arrivals.filter((a) => a.status === 200);
    result.chatRequests = ok.filter((a) => a.path.endsWith('/chat/completions')).length;
    result.embedInputs = ok.filter((a) => a.path.endsWith('/embeddings')).reduce((s, a) => s + a.inputs, 0);
    result.chatCells = texts;
    result.embedCells = texts;
  } catch (e) {
    result.error = (e as Error).message.split('\n')[0];
  } finally {
    stopped = true;
    timers.forEach((t) => clearInterval(t));
    await Promise.allSettled(background);
    await Promise.all(workers.map((w) => (w.child.exitCode === null && w.child.signalCode === null ? w.kill('SIGKILL') : null)));
    result.kills = kills;
    result.ms = Date.now() - started;
    await h.close().catch(() => undefined);
    await customerDb.end().catch(() => undefined);
    await redis.stop();
  }
  return result;
}

async function customerChecksum(db: pg.Pool): Promise<string> {
  const { rows } = await db.query(`SELECT id, text, n, shout, summary FROM ${CUSTOMER_SCHEMA}.items ORDER BY id`);
  return sha(rows.map((r) => [r.id, r.text, Number(r.n), r.shout, r.summary]));
}

/**
 * The Parquet files' live rows by the documented reading rule (the file sink's): let S be the
 * highest snapshot sequence (0 if none), ignore parts and deletes below it; the latest part of each
 * key counts unless a later delete file names it.
 */
async function parquetChecksum(dir: string): Promise<string> {
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    const files = await fs.readdir(path.join(dir, 'items')).catch(() => [] as string[]);
    const snapshot = Math.max(
      0,
      ...files
        .map((f) => /^snapshot-(\d+)\.json$/.exec(f)?.[1])
        .filter(Boolean)
        .map(Number),
    );
    const dels = files.some((f) => f.startsWith('delete-'))
      ? `SELECT id, regexp_extract(filename, 'delete-(\\d+)-', 1)::bigint AS v FROM read_parquet('${dir}/items/delete-*.parquet', filename = true)`
      : `SELECT NULL::varchar AS id, 0::bigint AS v WHERE false`;
    const r = await duck.runAndReadAll(`
      WITH parts AS (SELECT id, text, shout, regexp_extract(filename, 'part-(\\d+)-', 1)::bigint AS v FROM read_parquet('${dir}/items/part-*.parquet', filename = true)),
           live AS (SELECT * FROM parts WHERE v >= ${snapshot}),
           dels AS (SELECT * FROM (${dels}) WHERE v >= ${snapshot}),
           latest AS (SELECT * FROM live QUALIFY row_number() OVER (PARTITION BY id ORDER BY v DESC) = 1)
      SELECT id, text, shout FROM latest l WHERE NOT EXISTS (SELECT 1 FROM dels d WHERE d.id = l.id AND d.v > l.v) ORDER BY id`);
    return sha(r.getRows().map((row) => [row[0], row[1], row[2]]));
  } finally {
    duck.closeSync();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
