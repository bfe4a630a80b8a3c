import { definePipeline, describeSchedule, parseSchedule, t, type SourceReader } from '@tessera/core';

const reader = (kind: 'query' | 'listing', rows = false) =>
  (kind === 'query'
    ? { kind, description: 'q', page: async () => ({ rows: [], cursor: null }), close: async () => {} }
    : { kind, description: 'l', rows, list: async function* () {} }) as SourceReader<Record<string, unknown>>;

describe('schedules', () => {
  test('every and cron are checked and described', () => {
    expect(parseSchedule({ every: '5m' })).toEqual({ everyMs: 300_000 });
    expect(parseSchedule({ every: 90_000 })).toEqual({ everyMs: 90_000 });
    expect(parseSchedule({ cron: '0  * * * *', tz: 'Europe/Paris' })).toEqual({ cron: '0 * * * *', tz: 'Europe/Paris' });
    expect(describeSchedule({ everyMs: 300_000 })).toBe('every 5m');
    expect(describeSchedule({ cron: '0 * * * *', tz: 'UTC' })).toBe('cron 0 * * * * (UTC)');
    expect(() => parseSchedule({ every: '5 minutes' })).toThrow(/use a number of milliseconds or e.g. '30s'/);
    expect(() => parseSchedule({ every: 10 })).toThrow(/at least 1000 ms/);
    expect(() => parseSchedule({ cron: '* * *' })).toThrow(/expected 5 fields/);
    expect(() => parseSchedule({ cron: '* * * * *', tz: 'Mars/Olympus' })).toThrow(/unknown time zone "Mars\/Olympus"/);
  });
});

describe('p.source', () => {
  const build = (fn: (p: Parameters<Parameters<typeof definePipeline>[1]>[0], docs: any, view: any) => void) =>
    definePipeline('src', (p) => {
      const docs = p.table('docs', { id: t.string().primaryKey(), body: t.string() });
      fn(p, docs, docs);
    });

  test('a source is recorded with its table, schedule and page size', () => {
    const def = build((p, docs) => p.source('feed', docs, reader('query'), { schedule: { every: '1h' }, pageSize: 50 }));
    expect(def.sources).toEqual([expect.objectContaining({ name: 'feed', table: 'docs', schedule: { everyMs: 3_600_000 }, pageSize: 50, deletes: false })]);
  });

  test('bad declarations are refused naming pipeline, table, source and problem', () => {
    expect(() => build((p, docs) => p.source('feed', docs, reader('listing')))).toThrow(
      /pipeline src\.docs: source feed: lists files: give map\(file\) => row/,
    );
    expect(() => build((p, docs) => p.source('feed', docs, reader('listing', true), { map: (r) => ({ id: String(r.id) }) }))).toThrow(
      /reads files as rows.*map is not supported/,
    );
    expect(() => build((p, docs) => p.source('feed', docs, reader('query'), { deletes: true }))).toThrow(/deleted column/);
    expect(() => build((p, docs) => p.source('feed', docs, {} as never))).toThrow(/needs a reader/);
    expect(() => build((p, docs) => p.source('feed', docs, reader('query'), { schedule: { cron: 'often' } }))).toThrow(/source feed: cron "often"/);
    expect(() => build((p, docs) => (p.source('feed', docs, reader('query')), p.source('feed', docs, reader('query'))))).toThrow(/source feed: declared twice/);
    expect(() => build((p) => p.source('feed', { name: 'ghost' } as never, reader('query')))).toThrow(/not part of this pipeline/);
  });
});
