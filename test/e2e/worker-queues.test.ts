import path from 'node:path';
import { startHarness } from '../support/harness';

/**
 * A worker serves the queues of the pipeline code it runs, not only those the catalog knew when it
 * started: a pipeline applied (or given a new model column) after the fleet started is consumed
 * without restarting workers.
 */
test('a worker started before its pipeline is applied consumes the pipeline’s model queues', async () => {
  const h = await startHarness(path.resolve(import.meta.dirname, '../pipelines/modeled'));
  try {
    const pool = await h.startWorkers();
    expect(pool.queueNames).toEqual(expect.arrayContaining(['ingest', 'control', 'cpu', 'media', 'model-openai-test-embed']));
    // nothing is applied yet: the queue came from the code
    expect(await h.engine.store.pipelines()).toEqual([]);
  } finally {
    await h.close();
  }
});
