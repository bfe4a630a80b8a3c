import {
  categoryOf,
  CellInputError,
  codeOf,
  ConfigError,
  ERROR_CATEGORIES,
  isTransient,
  PipelineDefinitionError,
  RateLimitedError,
  TesseraError,
  TransientError,
  UdfVersionError,
} from '../src';

test('each class carries a stable code and its category', () => {
  const cases: Array<[TesseraError, string, string]> = [
    [new TransientError('503'), 'E_TRANSIENT', 'transient'],
    [new RateLimitedError(100), 'E_RATE_LIMITED', 'transient'],
    [new CellInputError('corrupt'), 'E_CELL_INPUT', 'cell'],
    [new ConfigError('no key'), 'E_CONFIG', 'config'],
    [new PipelineDefinitionError({ pipeline: 'p' }, 'cycle'), 'E_PIPELINE_DEFINITION', 'config'],
    [new UdfVersionError('embed@2'), 'E_CODE_SKEW', 'skew'],
  ];
  for (const [err, code, category] of cases) {
    expect(err).toBeInstanceOf(TesseraError);
    expect([err.code, err.category, categoryOf(err)]).toEqual([code, category, category]);
  }
});

test('a subclass with its own code keeps the category of that code', () => {
  class ProviderRateLimitError extends TransientError {
    constructor() {
      super('429', 1000, 'E_PROVIDER_RATE_LIMIT');
      this.name = 'ProviderRateLimitError';
    }
  }
  const e = new ProviderRateLimitError();
  expect([e.code, categoryOf(e), isTransient(e), e.retryAfterMs]).toEqual(['E_PROVIDER_RATE_LIMIT', 'transient', true, 1000]);
});

test('errors from another copy of core, or back from the queue as plain objects, are sorted by code, then by name', () => {
  // what BullMQ or a second module instance hands back: no prototype chain, only fields
  expect(categoryOf({ name: 'Whatever', message: 'x', code: 'E_TRANSIENT' })).toBe('transient');
  expect(categoryOf({ name: 'CellInputError', message: 'bad pdf' })).toBe('cell');
  expect(categoryOf({ name: 'UdfVersionError', message: 'this worker has no UDF f@2' })).toBe('skew');
  expect(codeOf({ name: 'RateLimitedError', message: 'wait' })).toBe('E_RATE_LIMITED');
  expect(isTransient(Object.assign(new Error('x'), { name: 'ProviderRateLimitError' }))).toBe(true);
  // a class of ours that also carries a driver's code is still known by its name
  expect(categoryOf(Object.assign(new Error('reset'), { name: 'TransientError', code: 'ECONNRESET' }))).toBe('transient');
});

test('anything else has no category: a driver code, a plain Error, a non-error', () => {
  expect(categoryOf(Object.assign(new Error('duplicate'), { code: '23505' }))).toBeUndefined();
  expect(codeOf(Object.assign(new Error('duplicate'), { code: '23505' }))).toBe('23505');
  expect(categoryOf(new Error('boom'))).toBeUndefined();
  expect(categoryOf(new TesseraError('E_RUN_SUPERSEDED', 'stop'))).toBeUndefined();
  for (const v of [null, undefined, 'TransientError', 42]) expect(categoryOf(v)).toBeUndefined();
  // a code is never read as a name, nor a name as a category
  expect(categoryOf({ code: 'TransientError' })).toBeUndefined();
  expect(Object.values(ERROR_CATEGORIES).every((c) => ['transient', 'cell', 'config', 'skew'].includes(c))).toBe(true);
});
