import { describeType, isMediaKind, type TypeSpec } from '@tessera/core';

/** How embeddings (float arrays with a fixed length) are stored. */
export type EmbeddingStorage = 'json' | 'blob' | 'vector';

export interface ServerInfo {
  mariadb: boolean;
  version: [number, number];
}

/** `SELECT VERSION()` as what decides the column types: `11.8.9-MariaDB-0+deb13u1`, `9.1.0`, `8.4.3-log`. */
export function parseServerVersion(version: string): ServerInfo {
  // old MariaDB servers prefix 5.5.5- for clients that only know MySQL
  const v = version.replace(/^5\.5\.5-(?=\d+\.\d+.*mariadb)/i, '');
  const m = /^(\d+)\.(\d+)/.exec(v);
  return { mariadb: /mariadb/i.test(v), version: [Number(m?.[1] ?? 0), Number(m?.[2] ?? 0)] };
}

/** MariaDB 11.7+ and MySQL 9+ have a VECTOR type, each with its own text-to-vector function. */
export function vectorSupport(server: ServerInfo): { fromText: string } | undefined {
  const [major, minor] = server.version;
  if (server.mariadb) return major > 11 || (major === 11 && minor >= 7) ? { fromText: 'VEC_FromText' } : undefined;
  return major >= 9 ? { fromText: 'STRING_TO_VECTOR' } : undefined;
}

export interface MyColumn {
  name: string;
  type: TypeSpec;
  ddl: string;
  expected: string;
  /** SQL for one placeholder, e.g. `?` or `VEC_FromText(?)` */
  placeholder: string;
  encode(v: unknown): unknown;
  /** does an existing column (information_schema data_type, column_type) fit? */
  fits(dataType: string, columnType: string): boolean;
}

const TEXTS = ['varchar', 'char', 'text', 'tinytext', 'mediumtext', 'longtext'];

const nullable =
  (f: (v: unknown) => unknown) =>
  (v: unknown): unknown =>
    v === null || v === undefined ? null : f(v);

/** UTC, microseconds: DATETIME(6) keeps no zone, so the sink always writes UTC. */
function datetime(v: unknown): string {
  const d = v instanceof Date ? v : new Date(v as string | number);
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

function floatBlob(v: unknown): Buffer {
  const a = (Array.isArray(v) || ArrayBuffer.isView(v) ? v : JSON.parse(String(v))) as ArrayLike<number>;
  const buf = Buffer.allocUnsafe(a.length * 4);
  for (let i = 0; i < a.length; i++) buf.writeFloatLE(Number(a[i]), i * 4);
  return buf;
}

function jsonArray(v: unknown): string {
  if (typeof v === 'string') return v;
  return JSON.stringify(ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v);
}

export function planMyColumn(name: string, type: TypeSpec, isKey: boolean, embeddings: EmbeddingStorage, server: ServerInfo): MyColumn {
  const col = (ddl: string, accepts: string[], encode: (v: unknown) => unknown, placeholder = '?'): MyColumn => ({
    name,
    type,
    ddl,
    expected: ddl,
    placeholder,
    encode: nullable(encode),
    fits: (dataType) => accepts.includes(dataType),
  });
  if (type.kind === 'string' || isMediaKind(type.kind)) {
    // keys must be indexable: VARCHAR(512) stays under InnoDB's 3072-byte key limit in utf8mb4
    return col(isKey ? 'VARCHAR(512)' : 'LONGTEXT', TEXTS, String);
  }
  switch (type.kind) {
    case 'int':
      return col('BIGINT', ['bigint', 'int', 'mediumint', 'smallint', 'tinyint', 'decimal'], (v) => (typeof v === 'bigint' ? v.toString() : v));
    case 'float':
      return col('DOUBLE', ['double', 'float', 'decimal'], Number);
    case 'bool':
      return col('BOOLEAN', ['tinyint', 'bit'], (v) => (v === true || v === 'true' ? 1 : 0));
    case 'timestamp':
      return col('DATETIME(6)', ['datetime', 'timestamp'], datetime);
    case 'json':
      // MariaDB's JSON is LONGTEXT with a json_valid check
      return col('JSON', ['json', 'longtext'], (v) => JSON.stringify(v));
    case 'array': {
      const isEmbedding = (type.element ?? 'float') === 'float' && type.dim !== undefined;
      if (isEmbedding && embeddings === 'vector') {
        const vec = vectorSupport(server);
        if (vec) return col(`VECTOR(${type.dim})`, ['vector'], jsonArray, `${vec.fromText}(?)`);
      }
      if (isEmbedding && embeddings === 'blob')
        return col(type.dim! * 4 < 65_535 ? 'BLOB' : 'LONGBLOB', ['blob', 'longblob', 'mediumblob', 'varbinary'], floatBlob);
      return col('JSON', ['json', 'longtext'], jsonArray);
    }
    default:
      throw new TypeError(`no MySQL mapping for ${describeType(type)}`);
  }
}
