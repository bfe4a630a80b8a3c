import { describeType, isMediaKind, type TypeSpec } from '@tessera/core';

export type VectorMode = 'pgvector' | 'real[]';

/** How one exported column is declared, passed (as an element of a text array literal) and cast in Postgres. */
export interface PgColumn {
  name: string;
  type: TypeSpec;
  /** the type we create */
  ddl: string;
  /** the array type of the unnest parameter */
  paramType: string;
  /** a cast applied to each unnested value, e.g. `::vector(768)` */
  cast: string;
  /** one value as an array-literal element (already quoted), or NULL */
  element(v: unknown): string;
  /** does an existing column of this Postgres type (format_type) fit? */
  fits(existing: string): boolean;
  /** what we expected, for the mismatch message */
  expected: string;
}

const quote = (s: string): string => `"${s.replace(/[\\"]/g, '\\$&')}"`;
const NULL = 'NULL';

function num(v: unknown): string {
  if (typeof v === 'number') return String(v); // NaN/Infinity are valid float8 input as well
  if (typeof v === 'bigint') return v.toString();
  return String(Number(v));
}

function toArray(v: unknown): ArrayLike<unknown> {
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return v as unknown as ArrayLike<unknown>;
  if (typeof v === 'string') return JSON.parse(v) as unknown[];
  throw new TypeError(`expected an array, got ${typeof v}`);
}

/** `[1,2,3]` for pgvector, `{1,2,3}` for real[]: numbers only, so the element needs quotes but no escaping. */
function numberList(v: unknown, open: string, close: string): string {
  const a = toArray(v);
  let s = open;
  for (let i = 0; i < a.length; i++) s += (i ? ',' : '') + num(a[i]);
  return `"${s}${close}"`;
}

function textList(v: unknown, el: (x: unknown) => string): string {
  const a = Array.from(toArray(v));
  return quote(`{${a.map((x) => (x === null || x === undefined ? NULL : el(x))).join(',')}}`);
}

const nullable = (f: (v: unknown) => string) => (v: unknown): string => (v === null || v === undefined ? NULL : f(v));

/** Plan a column for the export: the Postgres type it maps to and how its values travel. */
export function planPgColumn(name: string, type: TypeSpec, vector: VectorMode): PgColumn {
  const simple = (ddl: string, paramType: string, accepts: string[], element: (v: unknown) => string, cast = ''): PgColumn => ({
    name, type, ddl, paramType, cast, element: nullable(element), expected: ddl,
    fits: (existing) => accepts.includes(existing.replace(/\(.*\)$/, '')),
  });
  if (isMediaKind(type.kind)) return simple('text', 'text[]', ['text', 'character varying', 'character'], (v) => quote(String(v)));
  switch (type.kind) {
    case 'string':
      return simple('text', 'text[]', ['text', 'character varying', 'character', 'citext'], (v) => quote(String(v)));
    case 'int':
      return simple('bigint', 'int8[]', ['bigint', 'integer', 'smallint', 'numeric'], num);
    case 'float':
      return simple('double precision', 'float8[]', ['double precision', 'real', 'numeric'], num);
    case 'bool':
      return simple('boolean', 'bool[]', ['boolean'], (v) => (v === true || v === 'true' ? 't' : 'f'));
    case 'timestamp':
      return simple('timestamp with time zone', 'timestamptz[]', ['timestamp with time zone'], (v) =>
        quote((v instanceof Date ? v : new Date(v as string | number)).toISOString()),
      );
    case 'json':
      return simple('jsonb', 'text[]', ['jsonb', 'json'], (v) => quote(JSON.stringify(v)), '::jsonb');
    case 'array':
      return planArray(name, type, vector);
    default:
      throw new TypeError(`no Postgres mapping for ${describeType(type)}`);
  }
}

function planArray(name: string, type: TypeSpec, vector: VectorMode): PgColumn {
  const el = type.element ?? 'float';
  if (el === 'float' && vector === 'pgvector' && type.dim !== undefined) {
    const ddl = `vector(${type.dim})`;
    return {
      name, type, ddl, paramType: 'text[]', cast: `::${ddl}`, expected: ddl,
      element: nullable((v) => numberList(v, '[', ']')),
      fits: (existing) => existing === ddl || existing === 'vector',
    };
  }
  const [ddl, accepts] =
    el === 'float' ? ['real[]', ['real[]', 'double precision[]']]
    : el === 'int' ? ['bigint[]', ['bigint[]', 'integer[]']]
    : el === 'bool' ? ['boolean[]', ['boolean[]']]
    : ['text[]', ['text[]', 'character varying[]']];
  const element =
    el === 'float' || el === 'int' ? (v: unknown) => numberList(v, '{', '}')
    : el === 'bool' ? (v: unknown) => textList(v, (x) => (x ? 't' : 'f'))
    : (v: unknown) => textList(v, (x) => quote(String(x)));
  return {
    name, type, ddl, paramType: 'text[]', cast: `::${ddl}`, expected: ddl,
    element: nullable(element),
    fits: (existing) => accepts.includes(existing),
  };
}

/** A Postgres array literal from pre-quoted elements: one parameter carries a whole column of a batch. */
export function arrayLiteral(elements: string[]): string {
  return `{${elements.join(',')}}`;
}
