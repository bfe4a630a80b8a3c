import type pg from 'pg';
import { TesseraError } from '@tessera/core';

/**
 * Ships of one export that ended with their worker process (an out-of-memory kill, a native crash
 * in the sink's driver, code that exits) this many times in a row: the export is refused.
 */
export const SHIP_DEATHS_BEFORE_REFUSAL = 2;

/** How a ship is kept from killing worker processes over and over (see withExportLock). */
export interface ShipGuard {
  /**
   * Runs a suspect ship (the last ship of its export died with its process) when nothing else
   * suspect runs in this process, so a second death is blamed on one export, not on every ship in flight.
   */
  alone<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * A full ship someone asked for (`tessera export --full`, the fleet's spaced retry of a stuck
   * export, an export whose code changed), on its job's first run: it tries a refused export once more.
   */
  retryRefused: boolean;
}

/** An export refused because its ships kept killing the worker process (stuck: a person must look). */
export function shipKilledWorkers(sink: string): TesseraError {
  return new TesseraError(
    'E_WORKER_DIED',
    `export ${sink}: the worker process died during ${SHIP_DEATHS_BEFORE_REFUSAL} ships of it in a row (out of memory, a native crash in the sink, ` +
      'or code that ends the process); it is not shipped again until a full export is asked for (tessera export --full) ' +
      'or the fleet retries stuck exports (TESSERA_STUCK_EXPORT_RETRY_MS)',
    { sink },
  );
}

/** Where the export's row is: `$1` table id, `$2` sink. */
const WHERE = 'table_id = $1 AND sink = $2';

/**
 * What a ship does about the ships of its export before it that never ended (`unfinished`, read
 * under the export's lock, so none of them is still running: their processes died holding it):
 * none, it ships; some, it ships alone (see ShipGuard); as many as SHIP_DEATHS_BEFORE_REFUSAL,
 * it refuses, unless it is a retry someone asked for. This ship itself counts as unfinished
 * while it runs, so a death now leaves the count one higher.
 */
export async function guardShip<T>(
  c: pg.PoolClient,
  table: string,
  key: [tableId: number, sink: string],
  died: number,
  guard: ShipGuard | undefined,
  ship: () => Promise<T>,
): Promise<T> {
  if (died >= SHIP_DEATHS_BEFORE_REFUSAL) {
    if (!guard?.retryRefused) {
      const refusal = shipKilledWorkers(key[1]);
      // the count stays (later ships refuse too); the time is the refusal's, which the fleet's retry counts from
      await c.query(
        `UPDATE ${table} SET unfinished = $3, needs_full = true, state = 'stuck', reason = $4,
                updated_at = CASE WHEN state = 'stuck' AND reason = $4 THEN updated_at ELSE now() END
          WHERE ${WHERE}`,
        [...key, died, refusal.message],
      );
      throw refusal;
    }
    // a try of a refused export: the next spaced retry counts from now
    await c.query(`UPDATE ${table} SET updated_at = now() WHERE ${WHERE}`, key);
  }
  if (died === 0 || !guard) return ship();
  // waiting for its turn is not shipping: a death meanwhile is not this export's
  await c.query(`UPDATE ${table} SET unfinished = unfinished - 1 WHERE ${WHERE}`, key);
  return guard.alone(async () => {
    await c.query(`UPDATE ${table} SET unfinished = unfinished + 1 WHERE ${WHERE}`, key);
    return ship();
  });
}

/**
 * The ship ended without a death, but its end could not be recorded on its own connection (lost
 * mid-ship): clear the count on another one, unless a later ship began since. Best effort: if the
 * record is down, the next ship counts this one as died, which takes two such outages in a row,
 * each in the middle of a ship of this export, to refuse it (and then only until its retry).
 */
export async function shipEnded(pool: pg.Pool, table: string, key: [tableId: number, sink: string], seq: number): Promise<void> {
  await pool.query(`UPDATE ${table} SET unfinished = 0 WHERE ${WHERE} AND seq = $3`, [...key, seq]).catch(() => undefined);
}
