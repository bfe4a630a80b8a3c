import type { RequestOutcome } from '@tessera/store';
import { startHarness, type Harness } from '../support/harness';
import { holdCommits } from '../support/held-commits';
import { waitFor } from '../support/wait';

/**
 * A grouped commit (Engine.commitGroup, what the ingest workers run for the jobs they hold) whose
 * transaction the record refuses as a whole: the requests refused before it, by the pipeline's
 * JSON schemas (the engine) or by the row checks (the store), keep their own refusal, so their jobs
 * fail at once with their reason; the others carry the record's error, for their jobs to be retried.
 */
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  await h.engine.apply(h.def);
});
afterAll(async () => {
  await h?.close();
});

const good = (id: string) => ({ id: `req-${id}`, rows: [{ id, text: `text of ${id}`, n: 1, meta: null }] });
const badJson = (id: string) => ({ id: `req-${id}`, rows: [{ id, text: 'x', n: 1, meta: { tag: 7 } }] });
const badRow = (id: string) => ({ id: `req-${id}`, rows: [{ id, n: 1, meta: null }] }); // no text
const summary = (o: RequestOutcome) => (o.ok ? { ok: true, count: o.count, duplicate: o.duplicate } : { ok: false, message: o.error.message });
const REFUSED = { ok: false, message: 'canceling statement due to user request' };
const APPLIED = { ok: true, count: 1, duplicate: false };
const JSON_REFUSAL = { ok: false, message: expect.stringMatching(/^items row 1: .*meta/) };
const ROW_REFUSAL = { ok: false, message: 'items row 1: missing required column text' };

/** Commit the group while the record refuses it, then again once it takes commits. */
async function refusedThenCommitted(requests: Array<{ id: string; rows: Array<Record<string, unknown>> }>) {
  const held = await holdCommits(h.cfg.databaseUrl, h.cfg.schema);
  let refused: RequestOutcome[];
  try {
    const commit = h.engine.commitGroup('shapes', 'items', 'insert', requests);
    await waitFor('the group to reach the requests record', () => held.waiting());
    expect(await held.refuseWaiting()).toBe(1);
    refused = await commit;
  } finally {
    await held.release();
  }
  const ids = requests.map((r) => r.rows[0]!.id as string);
  const written = async () => (await h.engine.store.select('shapes', 'items')).filter((r) => ids.includes(r.id as string)).map((r) => r.id);
  const before = await written();
  const again = await h.engine.commitGroup('shapes', 'items', 'insert', requests);
  return { refused: refused.map(summary), writtenBefore: before, again: again.map(summary), writtenAfter: (await written()).sort() };
}

test('refused by the JSON schema (engine), in a group the record refuses: refused at once; the others retried and applied', async () => {
  expect(await refusedThenCommitted([good('a1'), badJson('a2'), good('a3')])).toEqual({
    refused: [REFUSED, JSON_REFUSAL, REFUSED],
    writtenBefore: [],
    again: [APPLIED, JSON_REFUSAL, APPLIED],
    writtenAfter: ['a1', 'a3'],
  });
});

test('refused by the row checks (store), in a group the record refuses: refused at once; the others retried and applied', async () => {
  expect(await refusedThenCommitted([good('b1'), badJson('b2'), badRow('b3'), good('b4')])).toEqual({
    refused: [REFUSED, JSON_REFUSAL, ROW_REFUSAL, REFUSED],
    writtenBefore: [],
    again: [APPLIED, JSON_REFUSAL, ROW_REFUSAL, APPLIED],
    writtenAfter: ['b1', 'b4'],
  });
});
