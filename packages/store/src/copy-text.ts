import { arrayLiteral, numberText } from './array-literal';

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

/** The encoder of one column's values, by its Postgres type (see sql.ts pgType). */
export function copyEncoder(pgType: string): (v: unknown) => string {
  if (pgType.endsWith('[]')) {
    return (v) => {
      if (v === null || v === undefined) return COPY_NULL;
      const items = v as ArrayLike<unknown>;
      // validated arrays hold numbers, booleans or strings; anything else is written as its text
      return copyText(arrayLiteral(items) ?? arrayLiteral(Array.from(items, (x) => (x === null || x === undefined ? x : String(x))))!);
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
