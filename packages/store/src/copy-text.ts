/**
 * Values as fields of COPY's text format: a line per row, fields separated by tabs, `\N` for NULL,
 * and backslash, tab, newline and carriage return escaped. Postgres parses each field as its
 * column's type, exactly as it parses a literal in an INSERT.
 */

const SPECIAL = /[\\\t\n\r]/;
const SPECIAL_ALL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A string as a COPY text field (most strings have nothing to escape: one test, no copy). */
export function copyText(s: string): string {
  return SPECIAL.test(s) ? s.replace(SPECIAL_ALL, (ch) => ESCAPES[ch]!) : s;
}

export const COPY_NULL = '\\N';

/** A number as Postgres reads it back to the same double (String(-0) would lose the sign). */
const numberText = (n: number) => (n === 0 && 1 / n < 0 ? '-0' : String(n));

/** A scalar as an array element literal (strings quoted, as arrays of text need). */
function arrayElement(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') return numberText(v);
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 't' : 'f';
  return `"${String(v).replace(/["\\]/g, '\\$&')}"`;
}

/** The encoder of one column's values, by its Postgres type (see sql.ts pgType). */
export function copyEncoder(pgType: string): (v: unknown) => string {
  if (pgType.endsWith('[]')) {
    return (v) => {
      if (v === null || v === undefined) return COPY_NULL;
      const items = Array.isArray(v) ? v : Array.from(v as ArrayLike<unknown>);
      return copyText(`{${items.map(arrayElement).join(',')}}`);
    };
  }
  switch (pgType) {
    case 'jsonb':
    case 'json':
      return (v) => (v === null || v === undefined ? COPY_NULL : copyText(JSON.stringify(v)));
    case 'boolean':
      return (v) => (v === null || v === undefined ? COPY_NULL : typeof v === 'boolean' ? (v ? 't' : 'f') : copyText(String(v)));
    case 'timestamptz':
      return (v) => (v === null || v === undefined ? COPY_NULL : v instanceof Date ? v.toISOString() : copyText(String(v)));
    default:
      return (v) =>
        v === null || v === undefined ? COPY_NULL : typeof v === 'string' ? copyText(v) : typeof v === 'number' ? numberText(v) : copyText(String(v));
  }
}
