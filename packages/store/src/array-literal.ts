/** A number as Postgres reads it back to the same double (String(-0) would lose the sign). */
export const numberText = (n: number) => (n === 0 && 1 / n < 0 ? '-0' : String(n));

const QUOTE_OR_BACKSLASH = /["\\]/;
const QUOTES_AND_BACKSLASHES = /["\\]/g;

/**
 * Values as a Postgres array literal, built in one pass (pg's own serializer runs two regular
 * expressions over every element): strings quoted, null as NULL. Undefined when a value is of a
 * kind it does not write (a Buffer, an object), for the caller to send another way.
 */
export function arrayLiteral(values: ArrayLike<unknown>): string | undefined {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) parts[i] = 'NULL';
    else if (typeof v === 'string') parts[i] = `"${QUOTE_OR_BACKSLASH.test(v) ? v.replace(QUOTES_AND_BACKSLASHES, '\\$&') : v}"`;
    else if (typeof v === 'number') parts[i] = numberText(v);
    else if (typeof v === 'boolean' || typeof v === 'bigint') parts[i] = String(v);
    else if (v instanceof Date) parts[i] = `"${v.toISOString()}"`;
    else return undefined;
  }
  return `{${parts.join(',')}}`;
}
