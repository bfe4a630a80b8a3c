import { ConfigError, type ExportRow, type TypeSpec } from '@tessera/core';
import { isMediaKind } from '@tessera/core';
import { quoteLance } from '../../sql/identifiers';

/** Key column types a delete predicate can name exactly. */
export function checkKeyType(sink: string, name: string, type: TypeSpec): void {
  if (type.kind === 'string' || isMediaKind(type.kind) || type.kind === 'int' || type.kind === 'bool' || type.kind === 'float') return;
  throw new ConfigError(`export to ${sink}: key column ${name} is ${type.kind}; LanceDB keys must be strings, ints, floats or booleans`);
}

/**
 * A value as a literal of LanceDB's SQL filter (DataFusion): strings single-quoted with quotes
 * doubled (a backslash is an ordinary character there), numbers in decimal, booleans as words.
 */
export function sqlLiteral(type: TypeSpec, v: unknown, column: string): string {
  if (v === null || v === undefined) throw new TypeError(`key column ${column} is null`);
  if (type.kind === 'int') return BigInt(v as number | bigint | string).toString();
  if (type.kind === 'float') {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new TypeError(`key column ${column} is ${String(v)}, not a finite number`);
    return String(n);
  }
  if (type.kind === 'bool') return v === true || v === 'true' ? 'true' : 'false';
  return `'${String(v).replace(/'/g, "''")}'`;
}

/** `key IN (...)` for one key column, else an OR of ANDs: the rows these keys name. */
export function keyPredicate(key: Array<{ name: string; type: TypeSpec }>, rows: ExportRow[]): string {
  if (key.length === 1) {
    const [k] = key;
    return `${quoteLance(k!.name)} IN (${rows.map((r) => sqlLiteral(k!.type, r[k!.name], k!.name)).join(', ')})`;
  }
  return rows.map((r) => `(${key.map((k) => `${quoteLance(k.name)} = ${sqlLiteral(k.type, r[k.name], k.name)}`).join(' AND ')})`).join(' OR ');
}
