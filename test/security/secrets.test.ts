import http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { BASE_QUEUES } from '@tessera/runtime';
import { startHarness } from '../support/harness';
import { spawnWorker, type WorkerProcess } from '../support/worker-process';
import { runCli } from '../support/cli';
import { connectPg } from '../support/clients';
import { uniqueName } from '../support/names';
import { onPort, PG_URL, withPassword } from '../support/services';

/**
 * Secrets planted everywhere a worker gets them (provider key, cloud credentials, Tessera's own
 * database URL, the export target's URL) and in media references (user:password, a presigned
 * query), then failures that carry them close to the surface: media that cannot be read and an
 * export whose target is down, through a real worker process. The secret must appear nowhere: the
 * worker's logs, anything in Redis under the test's prefix (job data, failed reasons, stack
 * traces), `tessera errors` and `status`, the catalog and cells in Postgres, and /metrics.
 */
const PIPELINE = path.resolve(import.meta.dirname, '../pipelines/hostile');
const SECRET = `s3cr3t${randomBytes(8).toString('hex')}`;

test('planted secrets never appear in logs, Redis, the CLI, the catalog or /metrics', async () => {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.2', () => r()));
  const port = (server.address() as AddressInfo).port;
  const customerSchema = uniqueName('cust', 4);
  const downTarget = onPort(withPassword(PG_URL, SECRET), 1);
  process.env.TESSERA_TEST_CUSTOMER_URL = downTarget;
  process.env.TESSERA_TEST_CUSTOMER_SCHEMA = customerSchema;
  const h = await startHarness(PIPELINE, {
    // trust authentication: the password is carried everywhere but never checked
    TESSERA_DATABASE_URL: withPassword(PG_URL, SECRET),
    TESSERA_TEST_CUSTOMER_URL: downTarget,
    TESSERA_TEST_CUSTOMER_SCHEMA: customerSchema,
    TESSERA_MEDIA_ALLOW_ADDRESSES: '127.0.0.2',
    TESSERA_JOB_ATTEMPTS: '2',
    TESSERA_EXPORT_RETRY_FOR_MS: '0',
    OPENAI_API_KEY: `sk-${SECRET}`,
    AWS_ACCESS_KEY_ID: 'AKIATESTTESTTEST',
    AWS_SECRET_ACCESS_KEY: SECRET,
    AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=${SECRET};BlobEndpoint=http://127.0.0.1:1/acct;`,
  });
  let worker: WorkerProcess | undefined;
  const redis = new Redis(h.cfg.redisUrl);
  try {
    await h.engine.apply(h.def);
    worker = await spawnWorker(h.cfg.env);
    await h.engine.insert('hostile', 'docs', [
      { id: 'presigned', doc: `http://user:${SECRET}@127.0.0.2:${port}/x.md?X-Amz-Signature=${SECRET}` },
      { id: 'refused', doc: `http://admin:${SECRET}@127.0.0.1:${port}/x.md?token=${SECRET}` },
      { id: 'plain', doc: '/nowhere.md', note: 'hello' },
    ]);
    await h.engine.waitIdle('hostile', { timeoutMs: 60_000 });
    // the exports fail for good against the target that is down
    const failed = async () => {
      let n = 0;
      for (const q of BASE_QUEUES) n += await h.engine.queue(q).getFailedCount();
      return n;
    };
    for (let i = 0; i < 600 && (await failed()) === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await failed()).toBeGreaterThan(0);

    const places: Record<string, string> = {};
    places.logs = worker.output();
    // everything in Redis under this test's prefix
    const dump: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${h.cfg.queuePrefix}:*`, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) {
        const type = await redis.type(k);
        if (type === 'hash') dump.push(JSON.stringify(await redis.hgetall(k)));
        else if (type === 'string') dump.push((await redis.get(k)) ?? '');
        else if (type === 'list') dump.push(...(await redis.lrange(k, 0, -1)));
        else if (type === 'set') dump.push(...(await redis.smembers(k)));
        else if (type === 'zset') dump.push(...(await redis.zrange(k, 0, -1)));
        else if (type === 'stream') dump.push(JSON.stringify(await redis.xrange(k, '-', '+')));
      }
    } while (cursor !== '0');
    places.redis = dump.join('\n');
    expect(places.redis).toMatch(/ECONNREFUSED|connect/); // the failed export's reason is there, without the URL's password
    const errors = await runCli(['errors', 'hostile', 'docs'], h.cfg.env);
    const status = await runCli(['status', 'hostile'], h.cfg.env);
    places.cli = errors.stdout + errors.stderr + status.stdout + status.stderr;
    expect(errors.stdout).toContain('http://***@127.0.0.2'); // the failed cell, named without its credentials
    // every table of the catalog and the store, leaving out the references as the producer wrote them
    const client = await connectPg();
    try {
      const tables = (await client.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, [h.cfg.schema])).rows as Array<{
        table_name: string;
      }>;
      const rows: unknown[] = [];
      for (const t of tables) rows.push(...(await client.query(`SELECT * FROM "${h.cfg.schema}"."${t.table_name}"`)).rows);
      places.catalog = JSON.stringify(rows, (k, v) => (k === 'doc' ? undefined : v));
      expect(tables.length).toBeGreaterThan(3);
    } finally {
      await client.end();
    }
    places.metrics = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
    for (const [where, text] of Object.entries(places)) expect([where, text.includes(SECRET)]).toEqual([where, false]);
  } finally {
    redis.disconnect();
    await worker?.stop();
    await h.close();
    await new Promise((r) => server.close(r));
    delete process.env.TESSERA_TEST_CUSTOMER_URL;
    delete process.env.TESSERA_TEST_CUSTOMER_SCHEMA;
  }
});
