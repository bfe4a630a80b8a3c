import type { RequestOutcome, WriteRequest } from '@tessera/store';
import { CommitGrouper, type GroupingOptions } from '../src';

/**
 * Which requests commit together. The grouper's windows are timers, and these tests rely only on
 * their order (a 20 ms timer set before a 100 ms one fires first), never on how long anything takes.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function grouper(opts: GroupingOptions) {
  const groups: string[][] = [];
  const g = new CommitGrouper(async (_pipeline, _table, _op, requests: WriteRequest[]): Promise<RequestOutcome[]> => {
    groups.push(requests.map((r) => r.id!));
    return requests.map((r) => ({ ok: true, version: groups.length, count: r.rows.length, duplicate: false }));
  }, opts);
  const submit = (id: string) => g.submit('p', 't', 'insert', { id, rows: [{ id }] });
  return { groups, submit };
}

test('while a table ingest keeps arriving, a group waits the busy window and takes what arrives meanwhile', async () => {
  const { groups, submit } = grouper({ windowMs: 200, busyWindowMs: 60_000, maxRows: 3 });
  await submit('a'); // the first request after a quiet spell waits only the window
  const later = [submit('b')];
  await sleep(20); // each next request joins within the window, so the group stays open for it
  later.push(submit('c'));
  await sleep(20);
  later.push(submit('d')); // the third row fills the group (maxRows), which commits at once
  const outcomes = await Promise.all(later);
  expect(groups).toEqual([['a'], ['b', 'c', 'd']]);
  expect(outcomes.map((o) => o.ok && o.version)).toEqual([2, 2, 2]);
});

test('requests arriving closer together than the window keep a busy group open past the window', async () => {
  const { groups, submit } = grouper({ windowMs: 100, busyWindowMs: 60_000, maxRows: 1000 });
  await submit('a');
  const later = [submit('b0')];
  // 15 more, 10 ms apart: 150 ms in all, longer than the window. Each 10 ms timer is set before the
  // group's next 100 ms check and so fires first, however late both fire on a loaded machine.
  for (let i = 1; i <= 15; i++) {
    await sleep(10);
    later.push(submit(`b${i}`));
  }
  await Promise.all(later);
  expect(groups).toEqual([['a'], Array.from({ length: 16 }, (_, i) => `b${i}`)]);
});

test('a busy group that no request joined for a window commits then, without waiting out the busy window', async () => {
  const { groups, submit } = grouper({ windowMs: 20, busyWindowMs: 600_000, maxRows: 1000 });
  await submit('a');
  // the stream stops after b and c: they commit after a 20 ms window with no new request, long
  // before a 30 s timer set now (whose deadline comes after every 20 ms check), not after 10 min
  const committed = Promise.all([submit('b'), submit('c')]).then(() => 'committed');
  let timer: NodeJS.Timeout | undefined;
  const sentinel = new Promise((r) => (timer = setTimeout(() => r('still waiting'), 30_000)));
  await expect(Promise.race([committed, sentinel])).resolves.toBe('committed');
  clearTimeout(timer);
  expect(groups).toEqual([['a'], ['b', 'c']]);
});

test('after a quiet spell longer than the busy window, a lone request waits only the window', async () => {
  const { groups, submit } = grouper({ windowMs: 20, busyWindowMs: 150, maxRows: 1000 });
  await submit('a');
  await sleep(300); // quiet for twice the busy window
  const b = submit('b');
  await sleep(100); // past b's 20 ms window, within the 150 ms busy one
  const c = submit('c');
  await Promise.all([b, c]);
  expect(groups).toEqual([['a'], ['b'], ['c']]);
});

test('without a busy window (0), every group waits the window alone', async () => {
  const { groups, submit } = grouper({ windowMs: 20, busyWindowMs: 0, maxRows: 1000 });
  await submit('a');
  const b = submit('b');
  await sleep(100);
  const c = submit('c');
  await Promise.all([b, c]);
  expect(groups).toEqual([['a'], ['b'], ['c']]);
});
