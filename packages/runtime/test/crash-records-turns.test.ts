import { CrashRecords } from '../src/processors/crash-records';
import { connectRedis } from '../../../test/support/clients';

/**
 * In one process, a cell computed alone runs with nothing else suspect beside it: not another cell
 * computed alone, nor a marked batch (rows in flight at an earlier death). Otherwise a batch's killer
 * would be blamed on the cell computed alone, and an innocent slow cell could be refused.
 */
const redis = connectRedis();
afterAll(() => redis.disconnect());

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
};
const tick = () => new Promise((r) => setImmediate(r));

test('a cell computed alone waits for the marked batches running, and batches asked for meanwhile wait for it', async () => {
  const records = new CrashRecords(redis, 'unused');
  const log: string[] = [];
  const first = gate();
  const batchA = records.batch(async () => {
    log.push('A starts');
    await first.opened;
    log.push('A ends');
  });
  const batchB = records.batch(async () => {
    log.push('B starts');
    await tick();
    log.push('B ends');
  });
  await tick();
  const cell = gate();
  const alone = records.alone(async () => {
    log.push('alone starts');
    await cell.opened;
    log.push('alone ends');
  });
  const batchC = records.batch(async () => {
    log.push('C starts');
  });
  await tick();
  await tick();
  // marked batches run side by side; the cell alone waits for A, which is still running, and C waits for the cell
  expect(log).toEqual(['A starts', 'B starts', 'B ends']);
  first.open();
  await batchA;
  await tick();
  expect(log).toEqual(['A starts', 'B starts', 'B ends', 'A ends', 'alone starts']);
  cell.open();
  await Promise.all([alone, batchB, batchC]);
  expect(log).toEqual(['A starts', 'B starts', 'B ends', 'A ends', 'alone starts', 'alone ends', 'C starts']);
});

test('cells computed alone take turns, and one that throws does not hold up the next nor the batches', async () => {
  const records = new CrashRecords(redis, 'unused');
  const log: string[] = [];
  const failing = records.alone(async () => {
    log.push('x');
    throw new Error('the cell failed');
  });
  const next = records.alone(async () => {
    log.push('y');
    return 'y done';
  });
  const batch = records.batch(async () => {
    log.push('batch');
  });
  await expect(failing).rejects.toThrow('the cell failed');
  await expect(next).resolves.toBe('y done');
  await batch;
  expect(log).toEqual(['x', 'y', 'batch']);
});
