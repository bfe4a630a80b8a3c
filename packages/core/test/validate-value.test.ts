import { z } from 'zod';
import { t, validateValue, isAssignable, describeType, typeFromSpec, CellInputError, type ColumnType } from '@tessera/core';

function rejection(type: ColumnType, value: unknown, column = 'c'): CellInputError {
  try {
    validateValue(column, type, value);
  } catch (e) {
    expect(e).toBeInstanceOf(CellInputError);
    return e as CellInputError;
  }
  throw new Error(`accepted ${JSON.stringify(value)}`);
}
const message = (type: ColumnType, value: unknown) => rejection(type, value).message;

describe('validateValue', () => {
  test('the error names the column and carries it in details', () => {
    const err = rejection(t.string(), 5, 'title');
    expect(err.message).toBe('column title: expected a string, got number 5');
    expect(err.code).toBe('E_CELL_INPUT');
    expect(err.details).toEqual({ column: 'title' });
  });

  test('null and undefined are null for every type', () => {
    for (const type of [t.string(), t.int().primaryKey(), t.json(z.object({ a: z.string() })), t.embedding(3), t.video()]) {
      expect(validateValue('c', type, null)).toBeNull();
      expect(validateValue('c', type, undefined)).toBeNull();
    }
  });

  test('string', () => {
    expect(validateValue('c', t.string(), '')).toBe('');
    expect(validateValue('c', t.string(), 'héllo')).toBe('héllo');
    expect(message(t.string(), { a: 1 })).toBe('column c: expected a string, got object {"a":1}');
    expect(message(t.string(), ['x'])).toBe('column c: expected a string, got an array of length 1');
  });

  test('int', () => {
    expect(validateValue('c', t.int(), 42)).toBe(42);
    expect(validateValue('c', t.int(), '42')).toBe(42);
    expect(validateValue('c', t.int(), -7)).toBe(-7);
    expect(message(t.int(), 1.5)).toBe('column c: expected an integer, got number 1.5');
    expect(message(t.int(), '4.2')).toBe('column c: expected an integer, got string "4.2"');
    expect(message(t.int(), '')).toBe('column c: expected an integer, got string ""');
    expect(message(t.int(), '  ')).toBe('column c: expected an integer, got string "  "');
    expect(message(t.int(), true)).toBe('column c: expected an integer, got boolean true');
  });

  test('float', () => {
    expect(validateValue('c', t.float(), 1.5)).toBe(1.5);
    expect(validateValue('c', t.float(), 3)).toBe(3);
    expect(validateValue('c', t.float(), '2.5e3')).toBe(2500);
    expect(message(t.float(), Infinity)).toBe('column c: expected a number, got Infinity');
    expect(message(t.float(), NaN)).toBe('column c: expected a number, got NaN');
    expect(message(t.float(), 'abc')).toBe('column c: expected a number, got string "abc"');
  });

  test('bool', () => {
    expect(validateValue('c', t.bool(), true)).toBe(true);
    expect(validateValue('c', t.bool(), false)).toBe(false);
    expect(validateValue('c', t.bool(), 'true')).toBe(true);
    expect(validateValue('c', t.bool(), 'false')).toBe(false);
    expect(message(t.bool(), 1)).toBe('column c: expected a boolean, got number 1');
    expect(message(t.bool(), 'yes')).toBe('column c: expected a boolean, got string "yes"');
  });

  test('timestamp: ISO 8601 string, epoch ms or Date', () => {
    const iso = validateValue('c', t.timestamp(), '2024-02-29T12:00:00.250Z') as Date;
    expect(iso).toBeInstanceOf(Date);
    expect(iso.toISOString()).toBe('2024-02-29T12:00:00.250Z');
    expect((validateValue('c', t.timestamp(), 0) as Date).toISOString()).toBe('1970-01-01T00:00:00.000Z');
    expect((validateValue('c', t.timestamp(), 1700000000000) as Date).getTime()).toBe(1700000000000);
    const d = new Date('2020-01-01T00:00:00Z');
    expect(validateValue('c', t.timestamp(), d)).toBe(d);
    const expected = 'expected a timestamp (ISO 8601 string, epoch ms or Date)';
    expect(message(t.timestamp(), 'not a date')).toBe(`column c: ${expected}, got string "not a date"`);
    expect(message(t.timestamp(), new Date('nope'))).toContain(`column c: ${expected}, got `);
    expect(message(t.timestamp(), true)).toBe(`column c: ${expected}, got boolean true`);
  });

  test('json: objects pass, JSON text is parsed, other strings stay strings', () => {
    expect(validateValue('c', t.json(), { a: [1, 2] })).toEqual({ a: [1, 2] });
    expect(validateValue('c', t.json(), '{"a": [1, 2]}')).toEqual({ a: [1, 2] });
    expect(validateValue('c', t.json(), ' [1] ')).toEqual([1]);
    expect(validateValue('c', t.json(), 'hello')).toBe('hello');
    expect(validateValue('c', t.json(), '{not json')).toBe('{not json');
    expect(validateValue('c', t.json(), 3)).toBe(3);
  });

  test('json with a zod schema: a failure names the path of each problem', () => {
    const type = t.json(z.object({ author: z.object({ name: z.string() }), tags: z.array(z.string()) }));
    expect(validateValue('meta', type, { author: { name: 'Ada' }, tags: ['x'] })).toEqual({ author: { name: 'Ada' }, tags: ['x'] });
    expect(validateValue('meta', type, '{"author":{"name":"Ada"},"tags":[]}')).toEqual({ author: { name: 'Ada' }, tags: [] });
    const err = rejection(type, { author: { name: 5 }, tags: ['a', 1] }, 'meta');
    expect(err.message).toMatch(/^column meta: expected JSON matching its schema \(author\.name: [^;]+; tags\.1: [^)]+\), got object /);
    expect(err.message).toContain('author.name: Invalid input: expected string, received number');
    expect(message(t.json(z.number()), 'x')).toMatch(/^column c: expected JSON matching its schema \(\(root\): .+\), got string "x"$/);
  });

  test('arrays: element type and, with dim, length', () => {
    expect(validateValue('c', t.embedding(3), [0.1, 0.2, 0.3])).toEqual([0.1, 0.2, 0.3]);
    expect(validateValue('c', t.embedding(2), '[1, 2]')).toEqual([1, 2]);
    expect(validateValue('c', t.array(), [])).toEqual([]);
    expect(validateValue('c', t.array('int'), [1, 2])).toEqual([1, 2]);
    expect(validateValue('c', t.array('string'), ['a'])).toEqual(['a']);
    expect(validateValue('c', t.array('bool'), [true, false])).toEqual([true, false]);
    expect(message(t.embedding(3), [1, 2])).toBe('column c: expected an array of length 3, got an array of length 2');
    expect(message(t.embedding(3), [1, 2, NaN])).toBe('column c: expected an array of float, got an array of length 3');
    expect(message(t.array('int'), [1, 1.5])).toBe('column c: expected an array of int, got an array of length 2');
    expect(message(t.array('string'), ['a', 1])).toBe('column c: expected an array of string, got an array of length 2');
    expect(message(t.array('bool'), ['true'])).toBe('column c: expected an array of bool, got an array of length 1');
    expect(message(t.array(), 'nope')).toBe('column c: expected an array, got string "nope"');
    expect(message(t.array(), { length: 1 })).toBe('column c: expected an array, got object {"length":1}');
  });

  test('media kinds hold a non-empty reference', () => {
    for (const kind of ['image', 'video', 'audio', 'document'] as const) {
      expect(validateValue('c', t[kind](), 's3://bucket/key')).toBe('s3://bucket/key');
      expect(message(t[kind](), '')).toBe(`column c: expected a ${kind} reference (URL or path), got string ""`);
      expect(message(t[kind](), 5)).toBe(`column c: expected a ${kind} reference (URL or path), got number 5`);
    }
  });

  test('long values are shortened in messages', () => {
    const m = message(t.int(), 'x'.repeat(100));
    expect(m).toBe(`column c: expected an integer, got string "${'x'.repeat(59)}…`);
  });
});

describe('column types', () => {
  test('describeType', () => {
    expect(t.string().toString()).toBe('string');
    expect(t.int().nullable().toString()).toBe('int?');
    expect(t.embedding(384).toString()).toBe('array<float>[384]');
    expect(t.array('string').nullable().toString()).toBe('array<string>?');
    expect(describeType(t.video().spec)).toBe('video');
  });

  test('builders keep their spec immutable and chainable', () => {
    const base = t.string();
    const pk = base.nullable().primaryKey();
    expect(base.spec).toEqual({ kind: 'string', nullable: false, primaryKey: false });
    expect(pk.spec).toEqual({ kind: 'string', nullable: false, primaryKey: true });
    expect(t.image().destination('s3://b/p').nullable().spec).toEqual({ kind: 'image', nullable: true, primaryKey: false, destination: 's3://b/p' });
    const schema = z.object({ a: z.string() });
    expect(t.json(schema).nullable().schema).toBe(schema);
    expect(typeFromSpec(t.embedding(8).spec).toString()).toBe('array<float>[8]');
  });

  test('isAssignable: same kind, int widens to float, arrays match element and dim', () => {
    expect(isAssignable(t.int().spec, t.float().spec)).toBe(true);
    expect(isAssignable(t.float().spec, t.int().spec)).toBe(false);
    expect(isAssignable(t.string().nullable().spec, t.string().spec)).toBe(true);
    expect(isAssignable(t.video().spec, t.string().spec)).toBe(false);
    expect(isAssignable(t.embedding(3).spec, t.embedding(3).spec)).toBe(true);
    expect(isAssignable(t.embedding(3).spec, t.embedding(4).spec)).toBe(false);
    expect(isAssignable(t.embedding(3).spec, t.array().spec)).toBe(true);
    expect(isAssignable(t.array().spec, t.embedding(3).spec)).toBe(false);
    expect(isAssignable(t.array('int').spec, t.array('float').spec)).toBe(false);
  });
});
