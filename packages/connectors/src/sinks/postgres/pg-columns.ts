import { describeType, isMediaKind, type TypeSpec } from '@tessera/core';
import { arrayField, float4ArrayField, OID, timestampField, vectorField, type CopyWriter } from './copy-binary';

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
  /** one value as an array-literal element (already quoted), or NULL (deletes pass keys this way) */
  element(v: unknown): string;
  /** one non-null value as a binary COPY field (upserts stage rows this way) */
  binary(w: CopyWriter, v: unknown): void;
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

const toDate = (v: unknown): Date => (v instanceof Date ? v : new Date(v as string | number));
const numbers = (v: unknown): ArrayLike<number> => toArray(v) as ArrayLike<number>;

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

const nullable =
  (f: (v: unknown) => string) =>
  (v: unknown): string =>
    v === null || v === undefined ? NULL : f(v);

/** Plan a column for the export: the Postgres type it maps to and how its values travel. */
export function planPgColumn(name: string, type: TypeSpec, vector: VectorMode): PgColumn {
  const simple = (ddl: string, paramType: string, accepts: string[], element: (v: unknown) => string, binary: PgColumn['binary'], cast = ''): PgColumn => ({
    name,
    type,
    ddl,
    paramType,
    cast,
    element: nullable(element),
    binary,
    expected: ddl,
    fits: (existing) => accepts.includes(existing.replace(/\(\d+(?:,\d+)?\)/, '')), // varchar(40), timestamp(3) with time zone
  });
  const text = (w: CopyWriter, v: unknown) => w.text(String(v));
  if (isMediaKind(type.kind)) return simple('text', 'text[]', ['text', 'character varying', 'character'], (v) => quote(String(v)), text);
  switch (type.kind) {
    case 'string':
      return simple('text', 'text[]', ['text', 'character varying', 'character', 'citext'], (v) => quote(String(v)), text);
    case 'int':
      return simple('bigint', 'int8[]', ['bigint', 'integer', 'smallint', 'numeric'], num, (w, v) =>
        w.fixed(8, (b, at) => b.writeBigInt64BE(BigInt(v as number), at)),
      );
    case 'float':
      return simple('double precision', 'float8[]', ['double precision', 'real', 'numeric'], num, (w, v) =>
        w.fixed(8, (b, at) => b.writeDoubleBE(Number(v), at)),
      );
    case 'bool':
      return simple(
        'boolean',
        'bool[]',
        ['boolean'],
        (v) => (v === true || v === 'true' ? 't' : 'f'),
        (w, v) => w.fixed(1, (b, at) => void (b[at] = v === true || v === 'true' ? 1 : 0)),
      );
    case 'timestamp':
      return simple(
        'timestamp with time zone',
        'timestamptz[]',
        ['timestamp with time zone'],
        (v) => quote(toDate(v).toISOString()),
        (w, v) => timestampField(w, toDate(v)),
      );
    case 'json':
      // jsonb's binary form is a version byte (1) and the JSON text
      return simple(
        'jsonb',
        'text[]',
        ['jsonb', 'json'],
        (v) => quote(JSON.stringify(v)),
        (w, v) => w.text(JSON.stringify(v), 1),
        '::jsonb',
      );
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
      name,
      type,
      ddl,
      paramType: 'text[]',
      cast: `::${ddl}`,
      expected: ddl,
      element: nullable((v) => numberList(v, '[', ']')),
      binary: (w, v) => vectorField(w, numbers(v)),
      fits: (existing) => existing === ddl || existing === 'vector',
    };
  }
  const [ddl, accepts] =
    el === 'float'
      ? ['real[]', ['real[]', 'double precision[]']]
      : el === 'int'
        ? ['bigint[]', ['bigint[]', 'integer[]']]
        : el === 'bool'
          ? ['boolean[]', ['boolean[]']]
          : ['text[]', ['text[]', 'character varying[]']];
  const binary: PgColumn['binary'] =
    el === 'float'
      ? (w, v) => float4ArrayField(w, numbers(v))
      : el === 'int'
        ? (w, v) => arrayField(w, OID.int8, toArray(v), (w2, x) => w2.fixed(8, (b, at) => b.writeBigInt64BE(BigInt(x as number), at)))
        : el === 'bool'
          ? (w, v) => arrayField(w, OID.bool, toArray(v), (w2, x) => w2.fixed(1, (b, at) => void (b[at] = x ? 1 : 0)))
          : (w, v) => arrayField(w, OID.text, toArray(v), (w2, x) => w2.text(String(x)));
  const element =
    el === 'float' || el === 'int'
      ? (v: unknown) => numberList(v, '{', '}')
      : el === 'bool'
        ? (v: unknown) => textList(v, (x) => (x ? 't' : 'f'))
        : (v: unknown) => textList(v, (x) => quote(String(x)));
  return {
    name,
    type,
    ddl,
    paramType: 'text[]',
    cast: `::${ddl}`,
    expected: ddl,
    element: nullable(element),
    binary,
    fits: (existing) => accepts.includes(existing),
  };
}

/** A Postgres array literal from pre-quoted elements: one parameter carries a whole column of a batch. */
export function arrayLiteral(elements: string[]): string {
  return `{${elements.join(',')}}`;
}
