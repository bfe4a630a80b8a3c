import { CellInputError } from '../errors';
import type { ColumnType } from './column-type';
import { valueLimits } from './value-limits';

/** Longest media reference (URL or path). */
const MAX_REF_LENGTH = 8192;

/**
 * Check and normalise one value for a column (inserted data or a UDF result).
 * Returns the value in its storable form; throws a CellInputError naming the problem.
 * Text anywhere (strings, JSON keys and values, array elements, references) must be storable:
 * no NUL byte and no lone surrogate, which Postgres refuses with a message naming neither row nor column.
 */
export function validateValue(column: string, type: ColumnType, value: unknown): unknown {
  const spec = type.spec;
  if (value === null || value === undefined) {
    if (!spec.nullable && !spec.primaryKey) return null; // non-nullable is enforced by the caller for base columns
    return null;
  }
  // mismatch(...) rather than a closure: this runs for every cell of every insert and every result
  switch (spec.kind) {
    case 'string':
      if (typeof value !== 'string') return mismatch(column, value, 'a string');
      checkText(column, value, '');
      return value;
    case 'int':
      return toInteger(column, value) ?? mismatch(column, value, 'an integer');
    case 'float': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      return typeof n === 'number' && Number.isFinite(n) ? n : mismatch(column, value, 'a number');
    }
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      return mismatch(column, value, 'a boolean');
    case 'timestamp': {
      if (typeof value === 'string') {
        const wrong = impossibleDate(value);
        if (wrong) throw new CellInputError(`column ${column}: ${JSON.stringify(value.slice(0, 40))} is not a real date or time (${wrong})`, { column });
      }
      const d = value instanceof Date ? value : typeof value === 'string' || typeof value === 'number' ? new Date(value) : null;
      return d && !Number.isNaN(d.getTime()) ? d : mismatch(column, value, 'a timestamp (ISO 8601 string, epoch ms or Date)');
    }
    case 'json': {
      if (typeof value === 'string' && value.length > valueLimits().maxValueBytes) tooLarge(column);
      const v = typeof value === 'string' && looksLikeJson(value) ? safeParse(value) : value;
      checkJson(column, v);
      if (type.schema) {
        const r = type.schema.safeParse(v);
        if (!r.success)
          mismatch(column, value, `JSON matching its schema (${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')})`);
      }
      return v;
    }
    case 'array': {
      if (typeof value === 'string' && value.length > valueLimits().maxValueBytes) tooLarge(column);
      const v = typeof value === 'string' ? safeParse(value) : value;
      if (!Array.isArray(v)) return mismatch(column, value, 'an array');
      if (spec.dim !== undefined && v.length !== spec.dim) mismatch(column, value, `an array of length ${spec.dim}`);
      if (v.length * 8 > valueLimits().maxValueBytes) tooLarge(column);
      const el = spec.element ?? 'float';
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        const ok =
          el === 'string'
            ? typeof x === 'string'
            : el === 'bool'
              ? typeof x === 'boolean'
              : typeof x === 'number' && (el === 'float' ? Number.isFinite(x) : Number.isSafeInteger(x));
        if (!ok)
          mismatch(column, value, el === 'int' && Number.isInteger(x) ? 'an array of int (each within ±2^53, exactly representable)' : `an array of ${el}`);
        if (el === 'string') checkText(column, x as string, `[${i}]`);
      }
      return v;
    }
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
      if (typeof value !== 'string' || value.length === 0) return mismatch(column, value, `a ${spec.kind} reference (URL or path)`);
      if (value.length > MAX_REF_LENGTH)
        throw new CellInputError(`column ${column}: a ${spec.kind} reference longer than ${MAX_REF_LENGTH} characters`, { column });
      checkText(column, value, '');
      return value;
  }
}

/** An integer stored exactly (bigint columns; JavaScript numbers are exact up to 2^53), or undefined when not an integer. */
function toInteger(column: string, value: unknown): number | undefined {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'bigint') n = Number(value);
  else if (typeof value === 'string' && value.trim() !== '') n = Number(value);
  else return undefined;
  if (!Number.isInteger(n)) return undefined;
  if (!Number.isSafeInteger(n) || (typeof value === 'bigint' && BigInt(n) !== value)) {
    const shown = typeof value === 'string' ? value.trim().slice(0, 40) : String(value);
    throw new CellInputError(`column ${column}: ${shown} is beyond ±2^53 (9007199254740991) and would not be stored exactly; send it as a string column`, {
      column,
    });
  }
  return n;
}

const SUSPECT = /[\0\uD800-\uDFFF]/;

/** Refuse text Postgres cannot store or that is not valid Unicode, naming where it is. */
function checkText(column: string, s: string, at: string): void {
  const { maxValueBytes } = valueLimits();
  if (s.length > maxValueBytes || (s.length * 3 > maxValueBytes && Buffer.byteLength(s) > maxValueBytes)) tooLarge(column);
  if (!SUSPECT.test(s)) return;
  const where = `column ${column}${at ? ` at ${at}` : ''}`;
  const nul = s.indexOf('\0');
  if (nul !== -1) throw new CellInputError(`${where}: text contains a NUL byte (\\u0000) at character ${nul + 1}, which cannot be stored`, { column });
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    } else if (c < 0xdc00 || c > 0xdfff) continue;
    throw new CellInputError(
      `${where}: text contains a lone surrogate (\\u${c.toString(16).toUpperCase()}) at character ${i + 1}, which is not valid Unicode`,
      { column },
    );
  }
}

/** Walk a JSON value: text in keys and values, depth, and size (roughly as stored). */
function checkJson(column: string, root: unknown): void {
  const { maxValueBytes, maxJsonDepth } = valueLimits();
  let bytes = 0;
  const walk = (v: unknown, depth: number, at: string): void => {
    if (typeof v === 'string') {
      checkText(column, v, at || '(root)');
      bytes += v.length + 2;
    } else if (typeof v === 'bigint') {
      throw new CellInputError(`column ${column} at ${at || '(root)'}: a bigint is not JSON`, { column });
    } else if (v !== null && typeof v === 'object') {
      if (depth >= maxJsonDepth)
        throw new CellInputError(`column ${column}: JSON nested deeper than ${maxJsonDepth} levels (TESSERA_MAX_JSON_DEPTH)`, { column });
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) walk(v[i], depth + 1, `${at}[${i}]`);
        bytes += v.length + 2;
      } else if (!(v instanceof Date)) {
        for (const k of Object.keys(v)) {
          checkText(column, k, `${at ? `${at}.` : ''}${k.slice(0, 40)} (key)`);
          bytes += k.length + 4;
          walk((v as Record<string, unknown>)[k], depth + 1, at ? `${at}.${k}` : k);
        }
      }
    } else bytes += 8;
    if (bytes > maxValueBytes) tooLarge(column);
  };
  walk(root, 0, '');
}

function tooLarge(column: string): never {
  throw new CellInputError(`column ${column}: value larger than ${valueLimits().maxValueBytes} bytes (TESSERA_MAX_VALUE_BYTES)`, { column });
}

/** Why a date-like string names no real moment (2024-02-30, 25:00), or undefined; Date would silently roll it over. */
function impossibleDate(s: string): string | undefined {
  const m = /^\s*([+-]?\d{4,6})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?/.exec(s);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12) return `month ${mo}`;
  const days = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]!;
  if (d < 1 || d > days) return `day ${d} of a month with ${days} days`;
  if (m[4] !== undefined && Number(m[4]) > 23) return `hour ${m[4]}`;
  if (m[5] !== undefined && Number(m[5]) > 59) return `minute ${m[5]}`;
  if (m[6] !== undefined && Number(m[6]) > 59) return `second ${m[6]}`;
  return undefined;
}

function mismatch(column: string, value: unknown, expected: string): never {
  throw new CellInputError(`column ${column}: expected ${expected}, got ${describe(value)}`, { column });
}

function looksLikeJson(s: string): boolean {
  const c = s.trim()[0];
  return c === '{' || c === '[';
}

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

function describe(v: unknown): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (typeof v === 'bigint') return `bigint ${v}`;
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    s = Object.prototype.toString.call(v);
  }
  // control characters in a message would reach terminals and logs as they are
  s = s?.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `${typeof v} ${s && s.length > 60 ? `${s.slice(0, 60)}…` : s}`;
}
