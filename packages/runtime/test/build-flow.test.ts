import type { FlowJob } from 'bullmq';
import { buildVersionFlow, StageJob } from '../src';

const flow = (fresh?: boolean) =>
  buildVersionFlow(
    {
      pipeline: 'p',
      table: 't',
      version: 3,
      stages: [
        { queue: 'cpu', columns: ['a'] },
        { queue: 'model:openai:m', columns: ['b'] },
      ],
      batches: [
        { lo: 1, hi: 10 },
        { lo: 11, hi: 20 },
      ],
      ...(fresh ? { fresh } : {}),
    },
    { attempts: 8 },
  );
const stages = (f: FlowJob): FlowJob[] => (f.children ?? []).flatMap((c) => [c, ...stages(c)]);

test('stage jobs retry transient failures with exponential backoff and jitter', () => {
  const jobs = stages(flow());
  expect(jobs).toHaveLength(4);
  for (const j of jobs) {
    expect(j.opts?.attempts).toBe(8);
    expect(j.opts?.backoff).toEqual({ type: 'exponential', delay: 500, jitter: 0.5 });
  }
});

test('a fresh recompute is carried to every stage job, and nowhere else', () => {
  expect(stages(flow(true)).map((j) => StageJob.parse(j.data).fresh)).toEqual([true, true, true, true]);
  expect(stages(flow()).map((j) => 'fresh' in j.data)).toEqual([false, false, false, false]);
});
