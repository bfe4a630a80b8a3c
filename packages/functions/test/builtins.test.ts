import { CellInputError } from '@tessera/core';
import { concat, jsonGet, jsonParse, length, localEmbed, localEmbeddingUdf, lower, upper, wordCount, truncate, LOCAL_EMBEDDING_DIM } from '../src';
import { runBatch, runFn, testContext } from './support/context';

const { ctx } = testContext();
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('string and JSON builtins', () => {
  test('string functions', async () => {
    expect(await runFn(upper, ['Straße'], ctx)).toBe('STRASSE');
    expect(await runFn(lower, ['ÀB'], ctx)).toBe('àb');
    expect(await runFn(length, ['héllo 👋'], ctx)).toBe(7);
    expect(await runFn(wordCount, ["it's a well-known   fact, 42 times"], ctx)).toBe(6);
    expect(await runFn(concat, ['a', 'b', ' - '], ctx)).toBe('a - b');
    expect(await runFn(truncate, ['👋👋👋', 2], ctx)).toBe('👋👋');
  });

  test('json functions', async () => {
    const doc = { author: { name: 'Ada' }, tags: ['x', 'y'] };
    expect(await runFn(jsonGet, [doc, 'author.name'], ctx)).toBe('Ada');
    expect(await runFn(jsonGet, [doc, 'tags[1]'], ctx)).toBe('y');
    expect(await runFn(jsonGet, [doc, 'missing.path'], ctx)).toBeNull();
    await expect(runFn(jsonGet, [doc, 'a..[b'], ctx)).rejects.toBeInstanceOf(CellInputError);
    expect(await runFn(jsonParse, ['{"a":1}'], ctx)).toEqual({ a: 1 });
    await expect(runFn(jsonParse, ['{nope'], ctx)).rejects.toBeInstanceOf(CellInputError);
  });
});

describe('local offline embedding', () => {
  test('fixed size, unit length, deterministic', async () => {
    const [a, b] = (await runBatch<number[]>(localEmbeddingUdf, [['The cat sat on the mat'], ['The cat sat on the mat']], ctx)) as number[][];
    expect(a).toHaveLength(LOCAL_EMBEDDING_DIM);
    expect(Math.hypot(...a!)).toBeCloseTo(1, 6);
    expect(a).toEqual(b);
  });

  test('shared words and word pieces land closer than unrelated text', () => {
    const q = localEmbed('invoice payment overdue');
    const near = localEmbed('the payment on this invoice is overdue');
    const variant = localEmbed('invoices payments');
    const far = localEmbed('a recipe for lemon cake with fresh berries');
    expect(dot(q, near)).toBeGreaterThan(dot(q, far) + 0.3);
    expect(dot(q, variant)).toBeGreaterThan(dot(q, far));
  });

  test('empty text gives the zero vector, not NaN', () => {
    expect(localEmbed('').every((x) => x === 0)).toBe(true);
  });
});
