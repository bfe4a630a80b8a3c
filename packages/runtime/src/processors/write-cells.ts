import type { CatalogTable, CellResult, CellWrite, Store } from '@tessera/store';

/** A Postgres data exception (class 22: a value it cannot store, such as text with NUL): the row's fault, not the job's. */
export const isDataError = (e: unknown): boolean => /^22/.test(String((e as { code?: unknown })?.code ?? ''));

/**
 * Write a batch's cells; if Postgres refuses a value (validation should have caught it first),
 * write row by row and give the refused row's cells an error naming the cause, so one bad value
 * never leaves the rest of the batch pending.
 */
export async function writeCellsIsolated(store: Store, table: CatalogTable, columns: string[], rows: CellWrite[]): Promise<void> {
  try {
    await store.cells.write(table, columns, rows);
    return;
  } catch (e) {
    if (!isDataError(e)) throw e;
  }
  for (const row of rows) {
    try {
      await store.cells.write(table, columns, [row]);
    } catch (e) {
      if (!isDataError(e)) throw e;
      const error = { type: 'StoreError', message: `the value could not be stored: ${(e as Error).message}` };
      const cells: Record<string, CellResult> = Object.fromEntries(Object.keys(row.cells).map((c) => [c, { error }]));
      await store.cells.write(table, columns, [{ ...row, cells }]);
    }
  }
}
