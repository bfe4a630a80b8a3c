import { ident } from './sql';
import { arrayLiteral } from './array-literal';

/** A column of rows sent to Postgres as one parameter: its name, its Postgres type, a value per row. */
export interface ParamColumn {
  name: string;
  type: string;
  values: unknown[];
}

/**
 * Rows as a FROM item `<sql> AS <alias>(columns)`, column by column: typed arrays through
 * `unnest` (the cheap path, no JSON to parse), or one jsonb document when a column holds arrays
 * (unnest would flatten them). Parameters are numbered from `first`.
 */
export function recordset(columns: ParamColumn[], alias: string, first = 1): { sql: string; params: unknown[] } {
  const names = columns.map((c) => ident(c.name)).join(', ');
  if (columns.some((c) => c.type.endsWith('[]'))) {
    const rows = (columns[0]?.values ?? []).map((_, i) => Object.fromEntries(columns.map((c) => [c.name, c.values[i] ?? null])));
    const def = columns.map((c) => `${ident(c.name)} ${c.type}`).join(', ');
    return { sql: `jsonb_to_recordset($${first}::jsonb) AS ${alias}(${def})`, params: [JSON.stringify(rows)] };
  }
  const args = columns.map((c, k) => `$${first + k}::${c.type}[]`).join(', ');
  // arrays as literals built here (pg's serializer was a tenth of a worker's time writing back cells)
  const params = columns.map((c) => {
    const values = c.type === 'jsonb' ? c.values.map(jsonParam) : c.values;
    return arrayLiteral(values) ?? values.map((v) => v ?? null);
  });
  return { sql: `unnest(${args}) AS ${alias}(${names})`, params };
}

/** A json value as a parameter: SQL null for null or missing, as jsonb_to_recordset reads a JSON null. */
const jsonParam = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));
