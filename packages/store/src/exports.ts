import type pg from 'pg';
import { TransientError, codeOf } from '@tessera/core';
import { guardShip, shipEnded, type ShipGuard } from './ship-deaths';
import { ident } from './sql';

/**
 * Where one export of a table stands (table `exports` of the catalog):
 * - `seq` grows by one with every ship (a finalize job's run for that export), under the export's
 *   lock, so ships of one export never overlap and each has its own number: append-only sinks
 *   (files) name what they write by it, and readers order by it (table versions cannot: a revert
 *   gives its version number to the next write, and a reconcile ships under the current one).
 * - `needsFull`: the target may lack rows or hold rows it should not (a new export, changed
 *   columns, a ship that failed), so the next ship re-ships every live row and deletes the rest.
 * - `state`: `ok` after a ship succeeded; `stuck` after one failed for a reason that needs a person
 *   (schema mismatch, permission), `waiting` while the target is unreachable; `reason` says why.
 * - `held`: live rows the last ship left out because an exported cell of theirs is still pending.
 */
export interface ExportState {
  table: string;
  sink: string;
  seq: number;
  needsFull: boolean;
  state: 'new' | 'ok' | 'stuck' | 'waiting';
  reason: string | null;
  held: number;
  shippedAt: Date | null;
  /** when the state last changed (a stuck export: its last try) */
  updatedAt: Date | null;
}

export interface ExportDecl {
  sink: string;
  /** what the target's shape depends on: exported columns and key (a change needs a full ship) */
  signature: unknown;
}

/**
 * Record the exports a pipeline's code declares for a table. A new export, or one whose columns
 * or key changed, needs a full ship: returns those sink names (the caller starts the ship).
 */
export async function syncExports(pool: pg.Pool, schema: string, tableId: number, decls: ExportDecl[]): Promise<string[]> {
  const changed: string[] = [];
  for (const d of decls) {
    const { rows } = await pool.query(
      `INSERT INTO ${ident(schema)}.exports AS e (table_id, sink, signature) VALUES ($1, $2, $3::jsonb)
       ON CONFLICT (table_id, sink) DO UPDATE SET signature = EXCLUDED.signature, needs_full = true, updated_at = now()
         WHERE e.signature IS DISTINCT FROM EXCLUDED.signature
       RETURNING sink`,
      [tableId, d.sink, JSON.stringify(d.signature)],
    );
    if (rows.length) changed.push(d.sink);
  }
  return changed;
}

export interface Ship {
  seq: number;
  needsFull: boolean;
}

export interface ShipOutcome {
  /** the ship re-shipped every live row and deleted the rest */
  full: boolean;
  held: number;
}

/**
 * Run one ship of an export under its lock: a session advisory lock in the record, held on its own
 * connection for the whole ship, so ships of one export run one at a time, each reading the
 * record as it is when it holds the lock (their order does not matter: each ships the current state
 * of what it touches). That is what keeps a slow earlier ship from
 * writing an old value or a deleted row over a later one, for every kind of sink. A worker that
 * dies mid-ship drops its connection and with it the lock. Waiting longer than `waitMs` for the
 * lock is a TransientError (the job waits in the delayed set and tries again). Ships that keep
 * dying with their process are refused (see guardShip).
 */
export async function withExportLock(
  pool: pg.Pool,
  schema: string,
  tableId: number,
  sink: string,
  waitMs: number,
  ship: (s: Ship) => Promise<ShipOutcome>,
  guard?: ShipGuard,
): Promise<ShipOutcome> {
  const s = ident(schema);
  const key: [number, string] = [tableId, sink];
  const lockKey = `tessera-export:${schema}:${tableId}:${sink}`;
  const { client: c, detach } = await lockExport(pool, lockKey, waitMs, sink);
  try {
    // the ship counts as unfinished until it ends: one whose process dies leaves the count up (see guardShip)
    const { rows } = await c.query(
      `INSERT INTO ${s}.exports AS e (table_id, sink, seq, unfinished) VALUES ($1, $2, 1, 1)
       ON CONFLICT (table_id, sink) DO UPDATE SET seq = e.seq + 1, unfinished = e.unfinished + 1 RETURNING seq, needs_full, unfinished`,
      key,
    );
    const seq = Number(rows[0].seq);
    const needsFull: boolean = rows[0].needs_full;
    let out: ShipOutcome;
    try {
      out = await guardShip(c, `${s}.exports`, key, Number(rows[0].unfinished) - 1, guard, () => ship({ seq, needsFull }));
    } catch (e) {
      if (codeOf(e) === 'E_WORKER_DIED') throw e; // refused: guardShip recorded why
      // whatever this ship did not finish, the next one re-ships in full
      const transient = e instanceof TransientError || (e as Error)?.name === 'TransientError';
      const recorded = await c
        .query(`UPDATE ${s}.exports SET state = $3, reason = $4, needs_full = true, unfinished = 0, updated_at = now() WHERE table_id = $1 AND sink = $2`, [
          ...key,
          transient ? 'waiting' : 'stuck',
          String((e as Error)?.message ?? e).slice(0, 2000),
        ])
        .then(
          () => true,
          () => false,
        );
      if (!recorded) await shipEnded(pool, `${s}.exports`, key, seq);
      throw e;
    }
    await c
      .query(
        `UPDATE ${s}.exports SET state = 'ok', reason = NULL, held = $3, shipped_at = now(), updated_at = now(), needs_full = needs_full AND NOT $4, unfinished = 0
          WHERE table_id = $1 AND sink = $2`,
        [...key, out.held, out.full],
      )
      .catch(async (e) => {
        await shipEnded(pool, `${s}.exports`, key, seq);
        throw e;
      });
    return out;
  } finally {
    // the connection goes back to the pool once the lock is surely dropped; one that cannot say so is closed (which drops it)
    const unlocked = await c
      .query('SELECT pg_advisory_unlock(hashtext($1)) AS done', [lockKey])
      .then((r) => r.rows[0].done === true)
      .catch(() => false);
    detach();
    c.release(!unlocked);
  }
}

/**
 * A connection holding the export's lock. In one process, ships of an export queue up in memory
 * (see LocalTurns) and only the first of them waits for the lock in Postgres, blocked on it, so a
 * ship starts the moment the one before it ends, in this process or another, without polling; a
 * process holds at most one waiting connection per export, and never while it ships that export
 * itself (its waiters would otherwise take the connections its ship needs).
 */
async function lockExport(pool: pg.Pool, key: string, waitMs: number, sink: string): Promise<{ client: pg.PoolClient; detach(): void }> {
  const deadline = Date.now() + waitMs;
  const tooLong = () => new TransientError(`export ${sink}: another ship of it is still running`);
  const turns = localTurns(pool);
  await turns.enter(key, deadline, tooLong);
  let c: pg.PoolClient | undefined;
  const ignore = () => undefined; // a lost connection fails the query in flight; the lock goes with it
  try {
    c = await pool.connect();
    c.on('error', ignore);
    const left = deadline - Date.now();
    if (left <= 0) throw tooLong();
    await c.query(`SELECT set_config('lock_timeout', $1, false)`, [`${left}ms`]);
    try {
      await c.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
    } catch (e) {
      if ((e as { code?: string }).code === '55P03') throw tooLong(); // lock_not_available: lock_timeout passed
      throw e;
    } finally {
      await c.query('RESET lock_timeout');
    }
  } catch (e) {
    if (c) {
      c.off('error', ignore);
      // the lock's wait timed out: the connection is as it was; anything else (lost, settings not restored) closes it
      c.release(e instanceof TransientError ? undefined : (e as Error));
    }
    turns.leave(key);
    throw e;
  }
  const client = c;
  // the listener and the turn go with the lock: the connection returns to the pool, and would gather one per ship
  return {
    client,
    detach: () => {
      client.off('error', ignore);
      turns.leave(key);
    },
  };
}

/** First come, first served turns per key, in memory; a waiter past its deadline leaves the line. */
class LocalTurns {
  private readonly lines = new Map<string, Array<() => void>>();

  /** Resolves when it is this caller's turn; rejects with `tooLong()` at the deadline. */
  enter(key: string, deadline: number, tooLong: () => Error): Promise<void> {
    const line = this.lines.get(key);
    if (!line) {
      this.lines.set(key, []);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const grant = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(
        () => {
          const i = line.indexOf(grant);
          if (i >= 0) line.splice(i, 1);
          reject(tooLong());
        },
        Math.max(0, deadline - Date.now()),
      );
      line.push(grant);
    });
  }

  /** The current turn ends: the next in line gets it. */
  leave(key: string): void {
    const line = this.lines.get(key);
    const next = line?.shift();
    if (next) next();
    else this.lines.delete(key);
  }
}

/** Per pool (one per process in production; tests open several to act as several processes). */
const turnsByPool = new WeakMap<pg.Pool, LocalTurns>();
function localTurns(pool: pg.Pool): LocalTurns {
  let t = turnsByPool.get(pool);
  if (!t) turnsByPool.set(pool, (t = new LocalTurns()));
  return t;
}

/** Every export's state, for the tables of a pipeline. */
export async function exportStates(pool: pg.Pool, schema: string, pipeline: string): Promise<ExportState[]> {
  const s = ident(schema);
  const { rows } = await pool.query(
    `SELECT t.name AS table, e.* FROM ${s}.exports e JOIN ${s}.tables t ON t.id = e.table_id WHERE t.pipeline = $1 ORDER BY t.name, e.sink`,
    [pipeline],
  );
  return rows.map((r) => ({
    table: r.table,
    sink: r.sink,
    seq: Number(r.seq),
    needsFull: r.needs_full,
    state: r.state,
    reason: r.reason,
    held: r.held,
    shippedAt: r.shipped_at,
    updatedAt: r.updated_at,
  }));
}
