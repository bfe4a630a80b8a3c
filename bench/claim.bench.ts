/**
 * bench:claim — Redis time per job of the bulk consumer's claim and complete scripts (see
 * packages/runtime/src/ingest/claim-scripts.ts), with the active list holding what a fleet of 2 and
 * of 8 workers holds (2,000 jobs each, claimed 500 at a time, as TESSERA_INGEST_CLAIM's default).
 * Claims are completed in batches of 100, every other claim first, so most batches sit between
 * other claims' jobs. Redis is the one resource the whole fleet shares: a script whose time per job
 * grew with the fleet would cap it. Times are Redis' own (INFO commandstats), not the round trips;
 * beside them, the CPU this process spends per job receiving the claims' replies (what each worker
 * pays to read the jobs it claims).
 *
 *   npm run bench:claim     (BENCH_FLEETS=2,8)
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { claimJobs, completeJobs, defineClaimCommands } from '../packages/runtime/src/ingest/claim-scripts';

const HELD = 2000;
const CLAIM = 500;
const BATCH = 100;
const fleets = (process.env.BENCH_FLEETS ?? '2,8').split(',').map(Number);
const redis = defineClaimCommands(new Redis(process.env.TESSERA_REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null }));

/** Redis' time inside EVALSHA so far (us). */
async function scriptUsec(): Promise<number> {
  const line = (await redis.info('commandstats')).split('\n').find((l) => l.startsWith('cmdstat_evalsha:'));
  return line ? Number(/usec=(\d+)/.exec(line)![1]) : 0;
}

const results: Record<string, { claimUsPerJob: number; claimClientUsPerJob: number; completeUsPerJob: number }> = {};
try {
  for (const workers of fleets) {
    const queue = new Queue(`claim-bench-${randomBytes(3).toString('hex')}`, { connection: redis, prefix: 'tessera-bench' });
    const total = workers * HELD;
    for (let i = 0; i < total; i += 1000) await queue.addBulk(Array.from({ length: 1000 }, (_, j) => ({ name: 'insert', data: { i: i + j } })));
    const u0 = await scriptUsec();
    const cpu0 = process.cpuUsage();
    const claims: Array<{ token: string; ids: string[] }> = [];
    for (let c = 0; c < total / CLAIM; c++) {
      const token = `bench:${c}`;
      const out = await claimJobs(redis, queue, { token, lockMs: 600_000, max: CLAIM, worker: 'bench' });
      claims.push({ token, ids: out.map((job) => job.id) });
    }
    const cpu = process.cpuUsage(cpu0);
    const u1 = await scriptUsec();
    for (const { token, ids } of [...claims.filter((_, i) => i % 2 === 1), ...claims.filter((_, i) => i % 2 === 0)]) {
      for (let i = 0; i < ids.length; i += BATCH) {
        const batch = ids.slice(i, i + BATCH).map((id) => ({ id, returnvalue: '{"version":1,"count":1}', keep: true, attemptsMade: 1 }));
        const skipped = await completeJobs(redis, queue, token, ids.length, batch);
        if (skipped.length) throw new Error(`jobs not completed: ${skipped.join(', ')}`);
      }
    }
    const u2 = await scriptUsec();
    const left = await redis.llen(queue.keys.active!);
    await queue.obliterate({ force: true });
    await queue.close();
    if (left) throw new Error(`${left} jobs left in the active list`);
    results[workers] = {
      claimUsPerJob: Number(((u1 - u0) / total).toFixed(1)),
      claimClientUsPerJob: Number(((cpu.user + cpu.system) / total).toFixed(1)),
      completeUsPerJob: Number(((u2 - u1) / total).toFixed(1)),
    };
    console.log(
      `${workers} workers x ${HELD} held (${total} jobs): claim ${results[workers].claimUsPerJob} us/job (reading the reply: ${results[workers].claimClientUsPerJob} us/job of this process's CPU), complete ${results[workers].completeUsPerJob} us/job (Redis time)`,
    );
  }
  console.log(`BENCH ${JSON.stringify({ bench: 'claim', heldPerWorker: HELD, claim: CLAIM, batch: BATCH, fleets: results })}`);
} finally {
  redis.disconnect();
}
