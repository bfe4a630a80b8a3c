import { TesseraError, validateValue, type PipelineDef } from '@tessera/core';
import type { Row } from '@tessera/store';

/**
 * Check rows' JSON columns against the zod schemas the pipeline's code gives them
 * (`t.json(z.object(...))`). The catalog stores types, not code, so this runs where the code is
 * loaded: the CLI, the client and the ingest worker; a row that does not fit is refused whole.
 */
export function checkJsonSchemas(def: PipelineDef | undefined, table: string, rows: Row[]): void {
  const columns = def?.tables.find((t) => t.name === table)?.columns.filter((c) => c.type.schema && !c.computed) ?? [];
  if (!columns.length) return;
  rows.forEach((row, i) => {
    for (const col of columns) {
      if (row[col.name] === undefined || row[col.name] === null) continue;
      try {
        validateValue(col.name, col.type, row[col.name]);
      } catch (e) {
        throw new TesseraError('E_BAD_ROW', `${table} row ${i + 1}: ${(e as Error).message}`);
      }
    }
  });
}
