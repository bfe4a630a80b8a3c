import type pg from 'pg';

/**
 * Room left on each heap page of a table whose computed cells are written after its rows (by
 * stage jobs): the write-back then stays a HOT update on the same page, with no new index entries.
 */
const UPDATED_FILLFACTOR = 40;
/** Full pages for a table whose rows are written once: 2.5x fewer pages to write, cache and scan. */
const WRITTEN_ONCE_FILLFACTOR = 100;

/**
 * The fillfactor of a table: full pages when the writer fills every computed cell at insert
 * (`writtenOnce` names such tables: no computed columns, or only ones computed inline), room for
 * the write-back otherwise. Without the writer's word (`writtenOnce` undefined), room.
 */
export function fillFactorOf(table: string, writtenOnce: ReadonlySet<string> | undefined): number {
  return writtenOnce?.has(table) ? WRITTEN_ONCE_FILLFACTOR : UPDATED_FILLFACTOR;
}

/**
 * Give an existing table the fillfactor its definition now calls for (a computed column that
 * stage jobs write was added, or the last one removed). Pages already written keep their fill;
 * new ones follow. The lock this takes does not block reads or writes.
 */
export async function keepFillFactor(c: pg.PoolClient, physical: string, fillfactor: number): Promise<void> {
  const { rows } = await c.query(`SELECT reloptions FROM pg_class WHERE oid = $1::regclass`, [physical]);
  const options = (rows[0]?.reloptions as string[] | null) ?? [];
  const current = Number(options.find((o) => o.startsWith('fillfactor='))?.slice('fillfactor='.length) ?? 100);
  if (current !== fillfactor) await c.query(`ALTER TABLE ${physical} SET (fillfactor = ${fillfactor})`);
}
