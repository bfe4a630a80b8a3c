import { IngestJob, parseIngestJob } from '../src/jobs/payloads';

// parseIngestJob's plain checks must accept exactly what the IngestJob schema accepts, and give the same payload
const ok = { pipeline: 'p', table: 't', rows: [{ id: 1 }] };
const cases: Array<[string, unknown]> = [
  ['minimal', ok],
  ['with op and requestId', { ...ok, op: 'upsert', requestId: 'r-1' }],
  ['unknown keys are dropped', { ...ok, extra: true }],
  ['every op', { ...ok, op: 'delete' }],
  ['longest names', { ...ok, pipeline: 'p'.repeat(64), table: 't'.repeat(64), requestId: 'r'.repeat(200) }],
  ['pipeline too long', { ...ok, pipeline: 'p'.repeat(65) }],
  ['empty table', { ...ok, table: '' }],
  ['table not a string', { ...ok, table: 5 }],
  ['unknown op', { ...ok, op: 'merge' }],
  ['op null', { ...ok, op: null }],
  ['requestId empty', { ...ok, requestId: '' }],
  ['requestId too long', { ...ok, requestId: 'r'.repeat(201) }],
  ['requestId a number', { ...ok, requestId: 7 }],
  ['no rows', { ...ok, rows: [] }],
  ['rows not an array', { ...ok, rows: { id: 1 } }],
  ['a row that is an array', { ...ok, rows: [{ id: 1 }, [1, 2]] }],
  ['a row that is null', { ...ok, rows: [null] }],
  ['a row that is a string', { ...ok, rows: ['x'] }],
  ['too many rows', { ...ok, rows: Array.from({ length: 100_001 }, () => ({})) }],
  ['payload null', null],
  ['payload an array', [ok]],
  ['payload a string', 'ingest'],
];

describe('parseIngestJob', () => {
  test.each(cases)('%s: same verdict and payload as the schema', (_, payload) => {
    const fast = parseIngestJob(payload);
    const schema = IngestJob.safeParse(payload);
    expect(fast.success).toBe(schema.success);
    if (schema.success) expect(fast.data).toEqual(schema.data);
    else expect(fast.error?.issues.length).toBeGreaterThan(0);
  });
});
