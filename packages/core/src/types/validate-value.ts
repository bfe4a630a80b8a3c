import { CellInputError } from '../errors';
import type { ColumnType } from './column-type';

/**
 * Check and normalise one value for a column (inserted data or a UDF result).
 * Returns the value in its storable form; throws a CellInputError naming the problem.
 */
export function validateValue(column: string, type: ColumnType, value: unknown): unknown {
  const spec = type.spec;
  if (value === null || value === undefined) {
    if (!spec.nullable && !spec.primaryKey) return null; // non-nullable is enforced by the caller for base columns
    return null;
  }
  // a plain function, not a closure per call: this runs for every cell of every insert
  const fail = (expected: string): never => mismatch(column, expected, value);
  switch (spec.kind) {
    case 'string':
      return typeof value === 'string' ? value : fail('a string');
    case 'int': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      return typeof n === 'number' && Number.isInteger(n) ? n : fail('an integer');
    }
    case 'float': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      return typeof n === 'number' && Number.isFinite(n) ? n : fail('a number');
    }
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      return fail('a boolean');
    case 'timestamp': {
      const d = value instanceof Date ? value : typeof value === 'string' || typeof value === 'number' ? new Date(value) : null;
      return d && !Number.isNaN(d.getTime()) ? d : fail('a timestamp (ISO 8601 string, epoch ms or Date)');
    }
    case 'json': {
      const v = typeof value === 'string' && looksLikeJson(value) ? safeParse(value) : value;
      if (type.schema) {
        const r = type.schema.safeParse(v);
        if (!r.success) fail(`JSON matching its schema (${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')})`);
      }
      return v;
    }
    case 'array': {
      const v = typeof value === 'string' ? safeParse(value) : value;
      if (!Array.isArray(v)) return fail('an array');
      if (spec.dim !== undefined && v.length !== spec.dim) fail(`an array of length ${spec.dim}`);
      const el = spec.element ?? 'float';
      for (const x of v) {
        const ok = el === 'string' ? typeof x === 'string' : el === 'bool' ? typeof x === 'boolean' : typeof x === 'number' && (el === 'float' ? Number.isFinite(x) : Number.isInteger(x));
        if (!ok) fail(`an array of ${el}`);
      }
      return v;
    }
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
      return typeof value === 'string' && value.length > 0 ? value : fail(`a ${spec.kind} reference (URL or path)`);
  }
}

function mismatch(column: string, expected: string, value: unknown): never {
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
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  const s = JSON.stringify(v);
  return `${typeof v} ${s && s.length > 60 ? `${s.slice(0, 60)}…` : s}`;
}
