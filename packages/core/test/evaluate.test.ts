import {
  t,
  defineUdf,
  evaluate,
  isJobLevelError,
  parseJsonPath,
  readJsonPath,
  literal,
  ColumnRef,
  CellInputError,
  ConfigError,
  RateLimitedError,
  TransientError,
  type EvalEnv,
  type JobStop,
  type ExprNode,
  type Outcome,
  type Udf,
  type UdfContext,
} from '@tessera/core';

type Row = Record<string, Outcome>;
const ctx = {} as UdfContext;
const envFor = (udfs: Udf[], extra: Partial<EvalEnv<Row>> = {}): EvalEnv<Row> => ({
  udfs: new Map(udfs.map((u) => [u.id, u])),
  ctx,
  read: (row, column) => row[column] ?? { error: { type: 'Error', message: `no ${column}` } },
  ...extra,
});
const rowsOf = (column: string, values: unknown[]): Row[] => values.map((v) => ({ [column]: { value: v } }));
const col = (column: string): ExprNode => ({ op: 'column', table: 't', column });
const call = (udf: Udf<any, any>, ...args: ExprNode[]): ExprNode => ({ op: 'call', udf: udf.spec.name, version: udf.spec.version, args });

describe('evaluate: batching', () => {
  test('a batch UDF is called once per maxSize chunk, results in row order', async () => {
    const calls: string[][] = [];
    const up = defineUdf({
      name: 'up_batch',
      version: '1',
      params: [t.string()],
      returns: t.string(),
      batch: {
        maxSize: 2,
        fn: async (rows) => {
          calls.push(rows.map(([s]) => s));
          return rows.map(([s]) => s.toUpperCase());
        },
      },
    });
    const out = await evaluate(call(up, col('s')), rowsOf('s', ['a', 'b', 'c', 'd', 'e']), envFor([up]));
    expect(calls).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(out).toEqual([{ value: 'A' }, { value: 'B' }, { value: 'C' }, { value: 'D' }, { value: 'E' }]);
  });

  test('rows that need no call (null input, failed or pending input) are left out of the batches', async () => {
    const calls: string[][] = [];
    const up = defineUdf({
      name: 'up_batch',
      version: '1',
      params: [t.string()],
      returns: t.string(),
      batch: { maxSize: 2, fn: async (rows) => (calls.push(rows.map(([s]) => s)), rows.map(([s]) => s.toUpperCase())) },
    });
    const rows: Row[] = [
      { s: { value: 'a' } },
      { s: { value: null } },
      { s: { pending: true } },
      { s: { value: 'b' } },
      { s: { error: { type: 'CellInputError', message: 'corrupt' } } },
      { s: { value: 'c' } },
    ];
    const out = await evaluate(call(up, col('s')), rows, envFor([up]));
    expect(calls).toEqual([['a', 'b'], ['c']]);
    expect(out).toEqual([
      { value: 'A' },
      { value: null },
      { pending: true },
      { value: 'B' },
      { error: { type: 'UpstreamError', message: 'an input of up_batch failed: corrupt' } },
      { value: 'C' },
    ]);
  });

  test('a batch that throws fails its own chunk only; an Error in the results fails one cell', async () => {
    const f = defineUdf({
      name: 'f',
      version: '1',
      params: [t.int()],
      returns: t.int(),
      batch: {
        maxSize: 2,
        fn: async (rows) => {
          if (rows.some(([n]) => n === 3)) throw new Error('chunk broke');
          return rows.map(([n]) => (n === 1 ? new CellInputError('one is bad') : n * 10));
        },
      },
    });
    const out = await evaluate(call(f, col('n')), rowsOf('n', [0, 1, 2, 3, 4]), envFor([f]));
    expect(out).toEqual([
      { value: 0 },
      { error: { type: 'CellInputError', message: 'one is bad' } },
      { error: { type: 'Error', message: 'chunk broke' } },
      { error: { type: 'Error', message: 'chunk broke' } },
      { value: 40 },
    ]);
  });
});

describe('evaluate: nulls, errors and results', () => {
  const counted = () => {
    const seen: unknown[][] = [];
    const udf = defineUdf({
      name: 'len',
      version: '1',
      params: [t.string(), t.string().nullable()],
      returns: t.int(),
      fn: (args) => (seen.push([...args]), args[0].length + (args[1]?.length ?? 0)),
    });
    return { udf, seen };
  };

  test('null for a non-nullable parameter yields null without a call; a nullable one is passed', async () => {
    const { udf, seen } = counted();
    const rows: Row[] = [
      { a: { value: null }, b: { value: 'xy' } },
      { a: { value: 'abc' }, b: { value: null } },
      { a: { value: undefined }, b: { value: 'z' } },
    ];
    const out = await evaluate(call(udf, col('a'), col('b')), rows, envFor([udf]));
    expect(out).toEqual([{ value: null }, { value: 3 }, { value: null }]);
    expect(seen).toEqual([['abc', null]]);
  });

  test('an upstream error propagates as UpstreamError naming the UDF, without a call', async () => {
    const { udf, seen } = counted();
    const rows: Row[] = [{ a: { value: 'x' }, b: { error: { type: 'TypeError', message: 'bad input' } } }];
    expect(await evaluate(call(udf, col('a'), col('b')), rows, envFor([udf]))).toEqual([
      { error: { type: 'UpstreamError', message: 'an input of len failed: bad input' } },
    ]);
    expect(seen).toEqual([]);
  });

  test('an upstream error propagates through nested calls', async () => {
    const up = defineUdf({ name: 'up', version: '1', params: [t.string()], returns: t.string(), fn: ([s]) => s.toUpperCase() });
    const rows: Row[] = [{ s: { error: { type: 'CellInputError', message: 'corrupt pdf' } } }];
    const [o] = await evaluate(call(up, call(up, col('s'))), rows, envFor([up]));
    expect(o).toEqual({ error: { type: 'UpstreamError', message: 'an input of up failed: an input of up failed: corrupt pdf' } });
  });

  test('a pending input keeps the cell pending', async () => {
    const { udf, seen } = counted();
    const rows: Row[] = [{ a: { pending: true }, b: { error: { type: 'Error', message: 'x' } } }];
    expect(await evaluate(call(udf, col('a'), col('b')), rows, envFor([udf]))).toEqual([{ pending: true }]);
    expect(seen).toEqual([]);
  });

  test('a result of the wrong type becomes a CellInputError cell', async () => {
    const bad = defineUdf({ name: 'bad', version: '1', params: [t.string()], returns: t.int(), fn: ([s]) => s as unknown as number });
    const out = await evaluate(call(bad, col('s')), rowsOf('s', ['abc', '42']), envFor([bad]));
    expect(out).toEqual([{ error: { type: 'CellInputError', message: 'column bad result: expected an integer, got string "abc"' } }, { value: 42 }]);
  });

  test('results are normalised to the return type (ISO string -> Date)', async () => {
    const when = defineUdf({ name: 'when', version: '1', params: [t.string()], returns: t.timestamp(), fn: ([s]) => s as unknown as Date });
    const [o] = await evaluate(call(when, col('s')), rowsOf('s', ['2024-01-02T03:04:05Z']), envFor([when]));
    expect((o as { value: Date }).value).toBeInstanceOf(Date);
    expect((o as { value: Date }).value.toISOString()).toBe('2024-01-02T03:04:05.000Z');
  });

  test('an ordinary error fails its cell only', async () => {
    const f = defineUdf({
      name: 'f',
      version: '1',
      params: [t.int()],
      returns: t.int(),
      fn: ([n]) => {
        if (n === 2) throw new RangeError('two');
        return n;
      },
    });
    expect(await evaluate(call(f, col('n')), rowsOf('n', [1, 2, 3]), envFor([f]))).toEqual([
      { value: 1 },
      { error: { type: 'RangeError', message: 'two' } },
      { value: 3 },
    ]);
  });

  test('literals are passed as arguments', async () => {
    const cat = defineUdf({ name: 'cat', version: '1', params: [t.string(), t.string()], returns: t.string(), fn: ([a, b]) => a + b });
    const expr = cat(new ColumnRef('t', 's', t.string()), '!');
    expect((expr.node as Extract<ExprNode, { op: 'call' }>).args[1]).toEqual({ op: 'literal', value: '!' });
    expect(await evaluate(expr.node, rowsOf('s', ['hi']), envFor([cat]))).toEqual([{ value: 'hi!' }]);
    expect(await evaluate(literal(t.int(), 7).node, rowsOf('s', ['a', 'b']), envFor([]))).toEqual([{ value: 7 }, { value: 7 }]);
  });

  test('per-row calls run at most `concurrency` at a time', async () => {
    let active = 0;
    let peak = 0;
    const slow = defineUdf({
      name: 'slow',
      version: '1',
      params: [t.int()],
      returns: t.int(),
      fn: async ([n]) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        return n;
      },
    });
    const out = await evaluate(call(slow, col('n')), rowsOf('n', [1, 2, 3, 4, 5, 6, 7]), envFor([slow], { concurrency: 3 }));
    expect(out).toEqual([1, 2, 3, 4, 5, 6, 7].map((value) => ({ value })));
    expect(peak).toBe(3);
  });
});

describe('evaluate: job-level errors', () => {
  test('a TransientError is rethrown, failing the job instead of the cell', async () => {
    const f = defineUdf({
      name: 'f',
      version: '1',
      params: [t.int()],
      returns: t.int(),
      fn: () => {
        throw new TransientError('429 from provider', 1000);
      },
    });
    await expect(evaluate(call(f, col('n')), rowsOf('n', [1]), envFor([f]))).rejects.toBeInstanceOf(TransientError);
  });

  test('job-level errors are recognised by name, whatever module instance made them', async () => {
    class OtherCopy extends Error {
      override name = 'TransientError';
    }
    const f = defineUdf({
      name: 'f',
      version: '1',
      params: [t.int()],
      returns: t.int(),
      fn: () => {
        throw new OtherCopy('503');
      },
    });
    await expect(evaluate(call(f, col('n')), rowsOf('n', [1]), envFor([f]))).rejects.toThrow('503');
    const limited = Object.assign(new Error('bucket empty'), { name: 'RateLimitedError' });
    expect(isJobLevelError(limited)).toBe(true);
    expect(isJobLevelError(Object.assign(new Error('x'), { name: 'UdfVersionError' }))).toBe(true);
    expect(isJobLevelError(new CellInputError('x'))).toBe(false);
    expect(isJobLevelError({ name: 'TransientError' })).toBe(false);
  });

  test('a batch throwing, or returning, a TransientError fails the job', async () => {
    const throwing = defineUdf({
      name: 'b1',
      version: '1',
      params: [t.int()],
      returns: t.int(),
      batch: {
        maxSize: 10,
        fn: async () => {
          throw new TransientError('timeout');
        },
      },
    });
    await expect(evaluate(call(throwing, col('n')), rowsOf('n', [1, 2]), envFor([throwing]))).rejects.toThrow('timeout');
    const returning = defineUdf({
      name: 'b2',
      version: '1',
      params: [t.int()],
      returns: t.int(),
      batch: { maxSize: 10, fn: async (rows) => rows.map(([n]) => (n === 2 ? new TransientError('one row hit 429') : n)) },
    });
    await expect(evaluate(call(returning, col('n')), rowsOf('n', [1, 2]), envFor([returning]))).rejects.toThrow('one row hit 429');
  });

  test('a UDF version this worker lacks fails the job with UdfVersionError', async () => {
    const f = defineUdf({ name: 'f', version: '1', params: [t.int()], returns: t.int(), fn: ([n]) => n });
    const node: ExprNode = { op: 'call', udf: 'f', version: '2', args: [col('n')] };
    const err = await evaluate(node, rowsOf('n', [1]), envFor([f])).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.name).toBe('UdfVersionError');
    expect(err?.message).toBe('this worker has no UDF f@2');
  });
});

describe('JSON paths', () => {
  test('parseJsonPath splits keys and array indexes', () => {
    expect(parseJsonPath('author')).toEqual(['author']);
    expect(parseJsonPath('author.name')).toEqual(['author', 'name']);
    expect(parseJsonPath('tags[0]')).toEqual(['tags', '0']);
    expect(parseJsonPath('a[1][2].b')).toEqual(['a', '1', '2', 'b']);
    expect(parseJsonPath('[3]')).toEqual(['3']);
    expect(parseJsonPath('pages[10].lines[2].text')).toEqual(['pages', '10', 'lines', '2', 'text']);
  });

  test.each(['', 'a[x]', 'a[0', 'a]0[', 'a[-1]', 'a[0]b'])('parseJsonPath rejects %j', (path) => {
    expect(() => parseJsonPath(path)).toThrow(`invalid JSON path ${JSON.stringify(path)}`);
  });

  test('readJsonPath reads keys and indexes; anything missing is null', () => {
    const doc = {
      author: { name: 'Ada' },
      tags: ['x', 'y'],
      grid: [
        [1, 2],
        [3, 4],
      ],
      zero: 0,
      no: false,
      nothing: null,
    };
    expect(readJsonPath(doc, ['author', 'name'])).toBe('Ada');
    expect(readJsonPath(doc, ['tags', '1'])).toBe('y');
    expect(readJsonPath(doc, ['grid', '1', '0'])).toBe(3);
    expect(readJsonPath(doc, ['author'])).toEqual({ name: 'Ada' });
    expect(readJsonPath(doc, ['zero'])).toBe(0);
    expect(readJsonPath(doc, ['no'])).toBe(false);
    expect(readJsonPath(doc, ['tags', '5'])).toBeNull();
    expect(readJsonPath(doc, ['missing', 'deeper'])).toBeNull();
    expect(readJsonPath(doc, ['nothing', 'x'])).toBeNull();
    expect(readJsonPath(doc, ['author', 'name', '0'])).toBeNull(); // no indexing into strings
    expect(readJsonPath(null, ['a'])).toBeNull();
    expect(readJsonPath([{ a: 1 }], ['0', 'a'])).toBe(1);
  });

  test('.at() builds a path node, and evaluate reads it per row', async () => {
    const meta = new ColumnRef('t', 'meta', t.json());
    const expr = meta.at('tags[1]');
    expect(expr.node).toEqual({ op: 'path', base: { op: 'column', table: 't', column: 'meta' }, path: ['tags', '1'] });
    expect(expr.type.spec).toMatchObject({ kind: 'json', nullable: true });
    const rows: Row[] = [
      { meta: { value: { tags: ['a', 'b'] } } },
      { meta: { value: { tags: ['a'] } } },
      { meta: { value: null } },
      { meta: { error: { type: 'CellInputError', message: 'bad json' } } },
    ];
    expect(await evaluate(expr.node, rows, envFor([]))).toEqual([
      { value: 'b' },
      { value: null },
      { value: null },
      { error: { type: 'CellInputError', message: 'bad json' } },
    ]);
  });
});

describe('evaluate: misbehaving UDFs and job-level errors', () => {
  test('a batch UDF returning the wrong number of results fails its chunk instead of shifting values', async () => {
    const short = defineUdf({
      name: 'short_batch',
      version: '1',
      params: [t.int()],
      returns: t.int(),
      batch: { maxSize: 10, fn: async (rows) => rows.slice(1).map(([n]) => n) },
    });
    const out = await evaluate(call(short, col('n')), rowsOf('n', [1, 2, 3]), envFor([short]));
    expect(out).toEqual(Array(3).fill({ error: { type: 'TypeError', message: 'batch UDF short_batch returned 2 results for 3 rows' } }));
  });

  test('a batch UDF returning a non-array fails its chunk as cells, not the job', async () => {
    const broken = defineUdf({
      name: 'broken_batch',
      version: '1',
      params: [t.int()],
      returns: t.int(),
      batch: { maxSize: 10, fn: async () => 'nope' as never },
    });
    const out = await evaluate(call(broken, col('n')), rowsOf('n', [1, 2]), envFor([broken]));
    expect(out[0]).toEqual({ error: { type: 'TypeError', message: 'batch UDF broken_batch returned string for 2 rows' } });
  });

  test('after a TransientError no further calls are made; the job-level error is rethrown', async () => {
    let calls = 0;
    const flaky = defineUdf({
      name: 'flaky',
      version: '1',
      params: [t.int()],
      returns: t.int(),
      fn: async ([n]) => {
        calls++;
        await new Promise((r) => setTimeout(r, 5));
        if (n === 1) throw new TransientError('429 from provider', 1000);
        return n;
      },
    });
    await expect(
      evaluate(
        call(flaky, col('n')),
        rowsOf(
          'n',
          Array.from({ length: 20 }, (_, i) => i),
        ),
        envFor([flaky], { concurrency: 2 }),
      ),
    ).rejects.toThrow('429 from provider');
    expect(calls).toBeLessThanOrEqual(4); // the two lanes stop at their next row instead of calling all 20
  });
});

describe('evaluate: calls that never answer', () => {
  const never = new Promise<never>(() => {});
  const hangsOn = (name: string, stuck: number, extra: { timeoutMs?: number } = {}) =>
    defineUdf({
      name,
      version: '1',
      params: [t.int()],
      returns: t.int(),
      ...extra,
      fn: ([n]) => (n === stuck ? never : Promise.resolve(n * 10)),
    });

  test('a call past its deadline fails its own cell with UdfTimeout; the other rows are computed', async () => {
    const hangs = hangsOn('hangs', 2);
    const out = await evaluate(call(hangs, col('n')), rowsOf('n', [1, 2, 3]), envFor([hangs], { udfTimeoutMs: 50 }));
    expect(out).toEqual([
      { value: 10 },
      { error: { type: 'UdfTimeout', message: "hangs gave no result in 50 ms (its deadline: the UDF's timeoutMs, else TESSERA_UDF_TIMEOUT_MS)" } },
      { value: 30 },
    ]);
  });

  test("a batch past its deadline fails its rows; the UDF's own timeoutMs wins over the worker's", async () => {
    const stuck = defineUdf({
      name: 'stuck_batch',
      version: '1',
      params: [t.int()],
      returns: t.int(),
      timeoutMs: 40,
      batch: { maxSize: 2, fn: async (rows) => (rows.some(([n]) => n === 3) ? never : rows.map(([n]) => n + 1)) },
    });
    const out = await evaluate(call(stuck, col('n')), rowsOf('n', [1, 2, 3, 4]), envFor([stuck], { udfTimeoutMs: 3_600_000 }));
    expect(out.slice(0, 2)).toEqual([{ value: 2 }, { value: 3 }]);
    expect(out.slice(2)).toEqual(
      Array(2).fill({ error: { type: 'UdfTimeout', message: expect.stringMatching(/^stuck_batch \(a batch of 2 rows\) gave no result in 40 ms/) } }),
    );
  });

  test('timeoutMs 0 turns the deadline off for a UDF that may rightly run long', async () => {
    const slow = defineUdf({
      name: 'slow_ok',
      version: '1',
      params: [t.int()],
      returns: t.int(),
      timeoutMs: 0,
      fn: async ([n]) => {
        await new Promise((r) => setTimeout(r, 80));
        return n;
      },
    });
    expect(await evaluate(call(slow, col('n')), rowsOf('n', [7]), envFor([slow], { udfTimeoutMs: 10 }))).toEqual([{ value: 7 }]);
  });
});

describe('evaluate: a job-level stop keeps what was computed', () => {
  test('per-row: calls in flight finish, the cell that hit the limit and the rows not attempted stay pending', async () => {
    const called: number[] = [];
    const f = defineUdf({
      name: 'limited',
      version: '1',
      params: [t.int()],
      returns: t.int(),
      fn: async ([n]) => {
        called.push(n);
        // row 0 is slow: it is still in flight when row 3 is refused by the limiter
        await new Promise((r) => setTimeout(r, n === 0 ? 30 : 1));
        if (n === 3) throw new RateLimitedError(5000);
        return n * 10;
      },
    });
    const stop: JobStop = {};
    const out = await evaluate(call(f, col('n')), rowsOf('n', [0, 1, 2, 3, 4, 5, 6, 7]), envFor([f], { concurrency: 2, stop }));
    expect(stop.error).toBeInstanceOf(RateLimitedError);
    expect(out.slice(0, 3)).toEqual([{ value: 0 }, { value: 10 }, { value: 20 }]);
    expect(out.slice(3)).toEqual(Array(5).fill({ pending: true }));
    expect(called.sort()).toEqual([0, 1, 2, 3]); // no call after the stop
  });

  test('batch: a row returned as a job-level error stays pending, the others keep their results, later chunks are not called', async () => {
    const chunks: number[][] = [];
    const b = defineUdf({
      name: 'limited_batch',
      version: '1',
      params: [t.int()],
      returns: t.int(),
      batch: {
        maxSize: 3,
        fn: async (rows) => {
          chunks.push(rows.map(([n]) => n));
          return rows.map(([n]) => (n === 4 ? new RateLimitedError(1000) : n === 5 ? new CellInputError('bad row') : n + 1));
        },
      },
    });
    const stop: JobStop = {};
    const out = await evaluate(call(b, col('n')), rowsOf('n', [0, 1, 2, 3, 4, 5, 6, 7]), envFor([b], { stop }));
    expect(chunks).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(out).toEqual([
      { value: 1 },
      { value: 2 },
      { value: 3 },
      { value: 4 },
      { pending: true },
      { error: { type: 'CellInputError', message: 'bad row' } },
      { pending: true },
      { pending: true },
    ]);
    expect(stop.error).toBeInstanceOf(RateLimitedError);
  });

  test('a holder already stopped makes no call at all; nested calls over a stopped input stay pending', async () => {
    let calls = 0;
    const inner = defineUdf({
      name: 'inner',
      version: '1',
      params: [t.int()],
      returns: t.int(),
      fn: ([n]) => {
        calls++;
        if (n === 1) throw new TransientError('503');
        return n;
      },
    });
    const outer = defineUdf({
      name: 'outer',
      version: '1',
      params: [t.int()],
      returns: t.int(),
      fn: ([n]) => {
        calls++;
        return n + 100;
      },
    });
    const stop: JobStop = {};
    const out = await evaluate(call(outer, call(inner, col('n'))), rowsOf('n', [0, 1, 2]), envFor([inner, outer], { concurrency: 1, stop }));
    // inner: row 0 done, row 1 stops the job, row 2 not attempted; outer makes no call after the stop
    expect(out).toEqual([{ pending: true }, { pending: true }, { pending: true }]);
    expect(calls).toBe(2);
    const again = await evaluate(call(outer, col('n')), rowsOf('n', [5]), envFor([outer], { stop }));
    expect(again).toEqual([{ pending: true }]);
    expect(calls).toBe(2);
  });

  test('a provider 429 (a TransientError subclass) is job-level, not a cell error', async () => {
    class ProviderRateLimitError extends TransientError {
      constructor() {
        super('429 Too Many Requests', 1000);
        this.name = 'ProviderRateLimitError';
      }
    }
    expect(isJobLevelError(new ProviderRateLimitError())).toBe(true);
    expect(isJobLevelError(Object.assign(new Error('a subclass from elsewhere'), { name: 'SomeTransient', code: 'E_TRANSIENT' }))).toBe(true);
    expect(isJobLevelError(new ConfigError('missing API key: set OPENAI_API_KEY'))).toBe(false); // a cell error on each row
    const f = defineUdf({
      name: 'p429',
      version: '1',
      params: [t.int()],
      returns: t.int(),
      fn: () => {
        throw new ProviderRateLimitError();
      },
    });
    await expect(evaluate(call(f, col('n')), rowsOf('n', [1, 2]), envFor([f]))).rejects.toThrow('429 Too Many Requests');
  });
});

describe("evaluate: the job's last attempt", () => {
  // a row whose media cannot be read (E_MEDIA_UNREACHABLE), one whose model call failed transiently, and a good one
  const read = defineUdf({
    name: 'read_media',
    version: '1',
    params: [t.string()],
    returns: t.string(),
    fn: async ([ref]: readonly [string]) => {
      if (ref === 'resets') throw new TransientError('cannot read resets: closed the connection', undefined, 'E_MEDIA_UNREACHABLE');
      if (ref === 'model-503') throw new TransientError('HTTP 503');
      return ref.toUpperCase();
    },
  });
  const expr = call(read, col('ref'));

  test('before it, an unreadable media stops the job and leaves its cell pending', async () => {
    const stop: JobStop = {};
    const out = await evaluate(expr, rowsOf('ref', ['resets']), envFor([read], { stop, concurrency: 1 }));
    expect(out).toEqual([{ pending: true }]);
    expect(stop.error?.message).toMatch(/closed the connection/);
  });

  test("on it, an unreadable media is its own cell's error and the others are computed; a model's 5xx still stops the job", async () => {
    const stop: JobStop = {};
    const out = await evaluate(expr, rowsOf('ref', ['resets', 'ok']), envFor([read], { stop, concurrency: 1, lastAttempt: true }));
    expect(out).toEqual([
      { error: { type: 'TransientError', message: "failed on the job's last attempt: cannot read resets: closed the connection" } },
      { value: 'OK' },
    ]);
    expect(stop.error).toBeUndefined();
    const stop2: JobStop = {};
    const out2 = await evaluate(expr, rowsOf('ref', ['model-503']), envFor([read], { stop: stop2, concurrency: 1, lastAttempt: true }));
    expect(out2).toEqual([{ pending: true }]);
    expect(stop2.error?.message).toBe('HTTP 503');
  });
});
