import { CellInputError, defineUdf, parseJsonPath, readJsonPath, t } from '@tessera/core';

/** Cheap string and JSON functions for computed columns; they run on the `cpu` queue. */

export const upper = defineUdf({ name: 'string.upper', version: '1', params: [t.string()] as const, returns: t.string(), fn: ([s]) => s.toUpperCase() });

export const lower = defineUdf({ name: 'string.lower', version: '1', params: [t.string()] as const, returns: t.string(), fn: ([s]) => s.toLowerCase() });

export const trim = defineUdf({ name: 'string.trim', version: '1', params: [t.string()] as const, returns: t.string(), fn: ([s]) => s.trim() });

/** Length in Unicode code points (not UTF-16 units). */
export const length = defineUdf({ name: 'string.length', version: '1', params: [t.string()] as const, returns: t.int(), fn: ([s]) => [...s].length });

export const wordCount = defineUdf({
  name: 'string.word_count',
  version: '1',
  params: [t.string()] as const,
  returns: t.int(),
  fn: ([s]) => (s.match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu) ?? []).length,
});

export const concat = defineUdf({
  name: 'string.concat',
  version: '1',
  params: [t.string(), t.string(), t.string()] as const,
  returns: t.string(),
  /** concat(a, b, separator) */
  fn: ([a, b, sep]) => `${a}${sep}${b}`,
});

/** The first `n` code points. */
export const truncate = defineUdf({
  name: 'string.truncate',
  version: '1',
  params: [t.string(), t.int()] as const,
  returns: t.string(),
  fn: ([s, n]) => [...s].slice(0, Math.max(0, n)).join(''),
});

/** jsonGet(meta, 'author.name') or 'tags[0]'; a missing path gives null. */
export const jsonGet = defineUdf({
  name: 'json.get',
  version: '1',
  params: [t.json(), t.string()] as const,
  returns: t.json().nullable(),
  fn: ([value, path]) => {
    let parts: string[];
    try {
      parts = parseJsonPath(path);
    } catch (err) {
      throw new CellInputError(`json.get: ${(err as Error).message}`);
    }
    return readJsonPath(value, parts);
  },
});

export const jsonStringify = defineUdf({
  name: 'json.stringify',
  version: '1',
  params: [t.json()] as const,
  returns: t.string(),
  fn: ([v]) => JSON.stringify(v) ?? 'null',
});

export const jsonParse = defineUdf({
  name: 'json.parse',
  version: '1',
  params: [t.string()] as const,
  returns: t.json(),
  fn: ([s]) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      throw new CellInputError(`json.parse: not valid JSON (${s.length > 40 ? `${s.slice(0, 40)}…` : s})`);
    }
  },
});
