import type { DataType } from 'apache-arrow';
import { describeType, isMediaKind, type TypeSpec } from '@tessera/core';
import { plainValue, toDate, toNumberArray } from '../files/file-format';
import type { arrowLib } from '../sdk/modules';

export type Arrow = Awaited<ReturnType<typeof arrowLib>>;

/** An exported column's Arrow type and how a stored value becomes an Arrow value (null stays null). */
export interface ArrowColumn {
  type: DataType;
  value: (v: unknown) => unknown;
}

export interface ArrowColumnOptions {
  /**
   * Embeddings (float arrays with a declared dim) as `fixed_size_list<float32>[dim]`, what vector
   * stores (LanceDB) index; otherwise `list<float32>`, what Parquet/Arrow readers expect of arrays.
   */
  fixedSizeVectors?: boolean;
}

/** Is this column an embedding: a float array with a fixed length? */
export const isEmbedding = (type: TypeSpec): boolean => type.kind === 'array' && (type.element ?? 'float') === 'float' && type.dim !== undefined;

/**
 * One Arrow type per column type: strings and media references as utf8, JSON as utf8 JSON text,
 * timestamps in UTC milliseconds, ints as int64, arrays as lists. Shared by the Arrow file format
 * and the LanceDB sink, so a column looks the same in both.
 */
export function arrowColumn(arrow: Arrow, name: string, type: TypeSpec, opts: ArrowColumnOptions = {}): ArrowColumn {
  const { Bool, Field, FixedSizeList, Float32, Float64, Int64, List, TimestampMillisecond, Utf8 } = arrow;
  const col = (t: DataType, conv: (v: unknown) => unknown): ArrowColumn => ({ type: t, value: (v) => (v === null || v === undefined ? null : conv(v)) });
  if (isMediaKind(type.kind) || type.kind === 'string') return col(new Utf8(), String);
  switch (type.kind) {
    case 'int':
      return col(new Int64(), (v) => BigInt(v as number));
    case 'float':
      return col(new Float64(), Number);
    case 'bool':
      return col(new Bool(), Boolean);
    case 'timestamp':
      return col(new TimestampMillisecond('UTC'), (v) => toDate(v)!.getTime());
    case 'json':
      return col(new Utf8(), (v) => JSON.stringify(plainValue(v)));
    case 'array': {
      if (opts.fixedSizeVectors && isEmbedding(type)) {
        const dim = type.dim!;
        return col(new FixedSizeList(dim, new Field('item', new Float32(), true)), (v) => {
          const a = toNumberArray(v)!;
          if (a.length !== dim) throw new TypeError(`column ${name}: a vector of ${a.length} values where ${dim} are declared`);
          return a;
        });
      }
      const el = type.element ?? 'float';
      const inner = el === 'float' ? new Float32() : el === 'int' ? new Int64() : el === 'bool' ? new Bool() : new Utf8();
      const conv =
        el === 'float'
          ? toNumberArray
          : el === 'int'
            ? (v: unknown) => Array.from(v as ArrayLike<number>, (x) => BigInt(x))
            : (v: unknown) => Array.from(v as ArrayLike<unknown>);
      return col(new List(new Field('item', inner, false)), conv);
    }
    default:
      throw new TypeError(`no Arrow mapping for column ${name} (${describeType(type)})`);
  }
}
