import type pg from 'pg';
import { TesseraError } from '@tessera/core';
import { withTx } from './db';
import { ident, pgType } from './sql';
import { loadTables, type CatalogTable } from './catalog';
import { bumpVersion, setVersionCounts } from './versions';
import {
  baseColumns,
  keyColumns,
  validateRows,
  validatePartialRows,
  rowValidator,
  insertRowsAt,
  updateRowsAt,
  upsertRowsAt,
  deleteRowsAt,
  type Row,
} from './rows';
import type { InlineCells } from './inline-cells';
import { findRequests, recordRequests, requestDigest, sameRequest, type RecordedRequest, type WriteOp } from './requests';
import { reviseDerived, retireDerived, derivedKey, type DerivedVersion } from './derived';

/** One producer call: its rows and, optionally, its idempotency key. */
export interface WriteRequest {
  /** a request repeated with the same id (and the same rows) applies once */
  id?: string;
  /**
   * the id names this very payload (a queue job's own id): a repeat can only be a retry of it, so
   * no digest of its rows is kept to tell a retry from a reuse (a producer's `requestId` gets one)
   */
  idNamesPayload?: boolean;
  rows: Row[];
}

/** What became of one request of a group. */
export type RequestOutcome = { ok: true; version: number; count: number; duplicate: boolean } | { ok: false; error: Error };

export interface GroupCommit {
  outcomes: RequestOutcome[];
  /** the versions written: one, none when every request was a retry or refused, several in the rare fallback below */
  commits: VersionCommit[];
}

/** One version a group wrote, with what it needs computed. */
export interface VersionCommit {
  version: number;
  inserted: number;
  updated: number;
  deleted: number;
  /** computed columns reset by updates */
  reset: string[];
  /** view work the version made (updates and deletes of rows views were derived from) */
  derived: DerivedVersion[];
  /** computed cells the commit filled itself (an insert's inline cells), by column */
  filled: Record<string, number>;
}

interface Pending {
  index: number;
  id?: string;
  /** null when the id names the payload itself (see WriteRequest.idNamesPayload) */
  digest?: string | null;
  /** as the producer sent them until `checked`, then as validated */
  rows: Row[];
  /**
   * the rows were validated. An insert's are validated as they are written (see insertedRows), so
   * the checks run while Postgres stores the rows before them; other ops are validated up front
   */
  checked: boolean;
  /** why its rows were refused, once found */
  refusal?: Error;
}

/** A request whose rows were refused while the group was being written (see insertedRows). */
class RequestRefused extends Error {
  constructor(
    readonly request: Pending,
    readonly reason: Error,
  ) {
    super(reason.message);
  }
}

const keyOf = (keys: string[], row: Row) => JSON.stringify(keys.map((k) => row[k]));

/**
 * Commit many write requests of one kind to one table as a single version, in one transaction:
 * the grouped commit that lets a stream of small producer calls cost what one bulk call does.
 * Each request keeps its own outcome: rows that do not fit, a key that already exists (insert) or
 * does not (update), or a request id reused for other rows fail that request alone; a request
 * already committed (same id, same rows) is answered with its first version. Requests apply in
 * order, so two updates of one key in a group end as the later one left it.
 */
export async function commitGroup(
  pool: pg.Pool,
  schema: string,
  table: CatalogTable,
  op: WriteOp,
  requests: WriteRequest[],
  inline?: InlineCells,
): Promise<GroupCommit> {
  const outcomes: RequestOutcome[] = new Array(requests.length);
  const pending: Pending[] = [];
  requests.forEach((r, index) => {
    try {
      const lazy = op === 'insert' && Array.isArray(r.rows) && r.rows.length > 0;
      const rows = lazy ? r.rows : validate(table, op, r.rows);
      pending.push({ index, rows, checked: !lazy, ...(r.id === undefined ? {} : { id: r.id, digest: r.idNamesPayload ? null : requestDigest(op, r.rows) }) });
    } catch (error) {
      outcomes[index] = { ok: false, error: error as Error };
    }
  });
  if (!pending.length) return { outcomes, commits: [] };
  const refusedBefore = [...outcomes];
  try {
    const commit = await withTx(pool, (c) => commitInTx(c, schema, table, op, pending, outcomes, inline));
    return { outcomes, commits: commit ? [commit] : [] };
  } catch (e) {
    // a request the checks did not catch (a value Postgres refuses) fails the group's transaction;
    // committed one by one, it fails alone and the others go through. Other errors (a lost connection,
    // a cancelled statement) are retried by the caller: requests whose rows the checks refuse keep
    // that refusal (those not checked yet are checked now), so a bad row fails at once with its
    // reason rather than with the group's error.
    if (!(e instanceof TesseraError)) {
      const refusals = [...refusedBefore];
      for (const p of pending) if (checkRows(table, op, p)) refusals[p.index] = { ok: false, error: p.refusal! };
      return failedWhole(e, refusals, pending.filter((p) => !p.refusal).length);
    }
    const undecided = pending.filter((p) => outcomes[p.index] === undefined || outcomes[p.index]!.ok);
    if (undecided.length === 1) {
      outcomes[undecided[0]!.index] = { ok: false, error: e };
      return { outcomes, commits: [] };
    }
    const commits: VersionCommit[] = [];
    for (const p of undecided) {
      const one = await commitGroup(pool, schema, table, op, [requests[p.index]!], inline);
      outcomes[p.index] = one.outcomes[0]!;
      commits.push(...one.commits);
    }
    return { outcomes, commits };
  }
}

/** The transaction failed as a whole: throw its error if every request reached it, else give it to those that did. */
function failedWhole(e: unknown, refusedBefore: RequestOutcome[], reached: number): GroupCommit {
  if (reached === refusedBefore.length) throw e;
  return { outcomes: Array.from(refusedBefore, (o) => o ?? { ok: false, error: e as Error }), commits: [] };
}

/** Validate a request's rows if they are not yet (see Pending.checked); true when they are refused. */
function checkRows(table: CatalogTable, op: WriteOp, p: Pending): boolean {
  if (!p.checked) {
    try {
      p.rows = validate(table, op, p.rows);
    } catch (error) {
      p.refusal = error as Error;
    }
    p.checked = true;
  }
  return p.refusal !== undefined;
}

/**
 * The accepted requests' rows, each request's validated as they are produced for the COPY (a
 * request refused part way stops the write with RequestRefused; its rows already sent are rolled
 * back with the savepoint). Validated rows are kept, so a write started again checks them no more.
 */
function* insertedRows(table: CatalogTable, accepted: Pending[]): Generator<Row> {
  const checkRow = rowValidator(table, baseColumns(table));
  for (const p of accepted) {
    if (p.checked) {
      yield* p.rows;
      continue;
    }
    const valid: Row[] = new Array(p.rows.length);
    for (let i = 0; i < p.rows.length; i++) {
      try {
        valid[i] = checkRow(p.rows[i]!, i);
      } catch (error) {
        p.refusal = error as Error;
        p.checked = true;
        throw new RequestRefused(p, error as Error);
      }
      yield valid[i]!;
    }
    p.rows = valid;
    p.checked = true;
  }
}

function validate(table: CatalogTable, op: WriteOp, rows: Row[]): Row[] {
  if (!Array.isArray(rows) || !rows.length) throw new TesseraError('E_BAD_ROW', `${table.name}: a ${op} needs at least one row`);
  if (op === 'insert') return validateRows(table, rows);
  if (op === 'delete') return validateRows(table, rows, keyColumns(table));
  return validatePartialRows(table, rows);
}

async function commitInTx(
  c: pg.PoolClient,
  schema: string,
  table: CatalogTable,
  op: WriteOp,
  pending: Pending[],
  outcomes: RequestOutcome[],
  inline?: InlineCells,
): Promise<VersionCommit | null> {
  // the table's catalog row lock serialises writers, so two copies of one request cannot both pass
  await c.query(`SELECT 1 FROM ${ident(schema)}.tables WHERE id = $1 FOR UPDATE`, [table.id]);
  const known = await findRequests(
    c,
    schema,
    table.id,
    pending.flatMap((p) => (p.id === undefined ? [] : [p.id])),
  );
  const sorted = sortRequests(table.name, op, pending, known, outcomes);
  const { retries } = sorted;
  let { accepted } = sorted;
  if (!accepted.length) return null;

  // optimistic: the whole group in one statement per chunk; on a refusal, find the requests at
  // fault, roll back to the savepoint and write the rest
  await c.query('SAVEPOINT tessera_group');
  let written: Written;
  let counts: Map<Pending, number>;
  let keysChecked = false;
  const refuse = (refused: Map<Pending, Error>) => {
    for (const [p, error] of refused) outcomes[p.index] = { ok: false, error };
    for (const r of retries) if (refused.has(r.of)) outcomes[r.p.index] = { ok: false, error: refused.get(r.of)! };
    accepted = accepted.filter((p) => !refused.has(p));
  };
  for (;;) {
    try {
      counts = op === 'delete' ? (await check(c, table, op, accepted)).counts : countsOf(table, op, accepted);
      written = await writeAll(c, schema, table, op, accepted, inline);
      break;
    } catch (e) {
      if (!(e instanceof TesseraError) && !(e instanceof RequestRefused)) throw e;
      await c.query('ROLLBACK TO SAVEPOINT tessera_group');
      if (e instanceof RequestRefused) refuse(new Map([[e.request, e.reason]]));
      else {
        if (keysChecked) throw e; // not a matter of keys: the caller commits the requests one by one
        // the key checks read validated rows
        refuse(new Map(accepted.flatMap((p) => (checkRows(table, op, p) ? [[p, p.refusal!] as const] : []))));
        const checked = await check(c, table, op, accepted);
        if (!checked.refused.size) throw e;
        refuse(checked.refused);
        keysChecked = true;
      }
      if (!accepted.length) return null;
    }
  }
  const { version } = written;
  answerWritten(version, accepted, retries, counts, outcomes);
  await setVersionCounts(c, schema, table.id, version, { inserts: written.inserted, updates: written.updated, deletes: written.deleted });
  await recordRequests(
    c,
    schema,
    table.id,
    version,
    op,
    accepted.flatMap((p) => (p.id === undefined ? [] : [{ id: p.id, count: counts.get(p) ?? 0, digest: p.digest ?? null }])),
  );
  let derived: DerivedVersion[] = [];
  if (written.updatedRowids.length || written.deletedRowids.length) {
    const all = await loadTables(c, schema, table.pipeline);
    const key = derivedKey(table, version);
    derived = written.deletedRowids.length
      ? await retireDerived(c, all, table, written.deletedRowids, key, `delete from ${table.name} v${version}`)
      : await reviseDerived(c, all, table, written.updatedRowids, [...written.changed, ...written.reset], key, `${op} of ${table.name} v${version}`);
  }
  return { version, inserted: written.inserted, updated: written.updated, deleted: written.deleted, reset: written.reset, derived, filled: written.filled };
}

// The per-request loops of a commit, kept out of the async commitInTx: V8 optimizes a function
// whose loops run hot (a group holds up to a thousand requests), and these small sync ones
// compile in a fraction of the time (and recompile cheaply after a deopt) that it would.

/**
 * Split a group's requests by what the requests table knows: a request already committed (same
 * id, same rows) is answered with its first version; a second copy of a request in this group
 * waits for the first one's outcome (`retries`); an id reused for other rows is refused; the rest
 * are `accepted` for writing.
 */
function sortRequests(
  tableName: string,
  op: WriteOp,
  pending: Pending[],
  known: Map<string, RecordedRequest>,
  outcomes: RequestOutcome[],
): { accepted: Pending[]; retries: Array<{ p: Pending; of: Pending }> } {
  const firstWithId = new Map<string, Pending>();
  const accepted: Pending[] = [];
  const retries: Array<{ p: Pending; of: Pending }> = [];
  for (const p of pending) {
    if (p.id !== undefined) {
      try {
        const recorded = known.get(p.id);
        if (recorded) {
          sameRequest(tableName, recorded, op, p.digest ?? null);
          outcomes[p.index] = { ok: true, version: recorded.version, count: recorded.count, duplicate: true };
          continue;
        }
        const first = firstWithId.get(p.id);
        if (first) {
          // the same request twice in one group (a re-sent job): answered with the first one's outcome
          sameRequest(tableName, { id: p.id, version: 0, op, count: first.rows.length, digest: first.digest ?? null }, op, p.digest ?? null);
          retries.push({ p, of: first });
          continue;
        }
        firstWithId.set(p.id, p);
      } catch (error) {
        outcomes[p.index] = { ok: false, error: error as Error };
        continue;
      }
    }
    accepted.push(p);
  }
  return { accepted, retries };
}

/** The written requests' outcomes, and their copies' (unless refused meanwhile). */
function answerWritten(
  version: number,
  accepted: Pending[],
  retries: Array<{ p: Pending; of: Pending }>,
  counts: Map<Pending, number>,
  outcomes: RequestOutcome[],
): void {
  for (const p of accepted) outcomes[p.index] = { ok: true, version, count: counts.get(p) ?? 0, duplicate: false };
  for (const r of retries) if (outcomes[r.p.index] === undefined) outcomes[r.p.index] = { ok: true, version, count: counts.get(r.of) ?? 0, duplicate: true };
}

interface Written {
  version: number;
  inserted: number;
  updated: number;
  deleted: number;
  reset: string[];
  changed: string[];
  updatedRowids: number[];
  deletedRowids: number[];
  filled: Record<string, number>;
}

/** Write the accepted requests' rows, in order, as one new version. */
async function writeAll(c: pg.PoolClient, schema: string, table: CatalogTable, op: WriteOp, accepted: Pending[], inline?: InlineCells): Promise<Written> {
  const from = accepted.length > 1 ? ` from ${accepted.length} requests` : '';
  const done = {
    inserted: 0,
    updated: 0,
    deleted: 0,
    reset: [] as string[],
    changed: [] as string[],
    updatedRowids: [] as number[],
    deletedRowids: [] as number[],
    filled: {} as Record<string, number>,
  };
  if (op === 'insert') {
    const count = accepted.reduce((n, p) => n + p.rows.length, 0);
    const version = await bumpVersion(c, schema, table.id, 'insert', `inserted ${count} row(s)${from}`);
    await insertRowsAt(c, table, insertedRows(table, accepted), version, count, inline, done.filled);
    return { ...done, version, inserted: count };
  }
  const rows = accepted.flatMap((p) => p.rows);
  if (op === 'delete') {
    const version = await bumpVersion(c, schema, table.id, 'delete', `deleted ${rows.length} row(s)${from}`);
    const rowids = await deleteRowsAt(c, table, rows, version);
    return { ...done, version, deleted: rowids.length, deletedRowids: rowids };
  }
  if (!keyColumns(table).length) throw new TesseraError('E_BAD_ROW', `${table.name}: ${op}s need a primary key`);
  const version = await bumpVersion(c, schema, table.id, op, `${op === 'update' ? 'updated' : 'upserted'} ${rows.length} row(s)${from}`);
  if (op === 'update') {
    const r = await updateRowsAt(c, table, mergeByKey(table, rows), version);
    return { ...done, version, updated: r.count, reset: r.reset, changed: r.changed, updatedRowids: r.rowids };
  }
  const r = await upsertRowsAt(c, table, rows, version);
  return { ...done, version, inserted: r.inserted, updated: r.updated, reset: r.reset, changed: r.changed, updatedRowids: r.rowids };
}

/** Rows of one key merged in order (later values win), so a group's updates apply as if one after another. */
function mergeByKey(table: CatalogTable, rows: Row[]): Row[] {
  const keys = keyColumns(table).map((k) => k.name);
  const merged = new Map<string, Row>();
  for (const r of rows) {
    const k = keyOf(keys, r);
    const prev = merged.get(k);
    merged.set(k, prev ? { ...prev, ...r } : r);
  }
  return [...merged.values()];
}

/** Rows a request writes, when every request of the group goes through. */
function countsOf(table: CatalogTable, op: WriteOp, accepted: Pending[]): Map<Pending, number> {
  const keys = keyColumns(table).map((k) => k.name);
  return new Map(accepted.map((p) => [p, op === 'insert' || !keys.length ? p.rows.length : new Set(p.rows.map((r) => keyOf(keys, r))).size]));
}

/**
 * Replay the requests in order against the live keys, to find those that cannot apply: an insert
 * of a key that exists (or that an earlier request of the group inserts), an update of a key that
 * does not, an upsert inserting a new key without a required column. Also counts the rows each
 * request writes (a delete counts only keys that were live).
 */
async function check(
  c: pg.PoolClient,
  table: CatalogTable,
  op: WriteOp,
  accepted: Pending[],
): Promise<{ refused: Map<Pending, Error>; counts: Map<Pending, number> }> {
  const refused = new Map<Pending, Error>();
  const counts = new Map<Pending, number>();
  const keyCols = keyColumns(table);
  const keys = keyCols.map((k) => k.name);
  if (!keys.length) {
    for (const p of accepted) counts.set(p, p.rows.length);
    return { refused, counts };
  }
  const live = await liveKeySet(
    c,
    table,
    keys,
    accepted.flatMap((p) => p.rows),
  );
  const required = baseColumns(table).filter((col) => !col.type.nullable);
  for (const p of accepted) {
    const mine = new Map<string, Row>();
    let error: Error | undefined;
    p.rows.forEach((row, i) => {
      if (error) return;
      const k = keyOf(keys, row);
      const where = `${table.name} row ${i + 1}`;
      const keyText = JSON.stringify(Object.fromEntries(keys.map((n) => [n, row[n]])));
      if (op === 'insert' && (live.has(k) || mine.has(k)))
        error = new TesseraError('E_DUPLICATE_KEY', `${where}: a row with key ${keyText} already exists (use update or upsert to change an existing row)`);
      else if (op === 'update' && !live.has(k)) error = new TesseraError('E_NO_SUCH_ROW', `${where}: no row with key ${keyText}; nothing was updated`);
      else if (keys.some((n) => row[n] === undefined || row[n] === null))
        error = new TesseraError('E_BAD_ROW', `${where}: the primary key ${keys.find((n) => row[n] === undefined || row[n] === null)} is missing`);
      mine.set(k, { ...(mine.get(k) ?? {}), ...row });
    });
    if (!error && op === 'upsert') {
      const firstRow = new Map<string, number>();
      p.rows.forEach((row, i) => firstRow.has(keyOf(keys, row)) || firstRow.set(keyOf(keys, row), i));
      for (const [k, row] of mine) {
        const missing = live.has(k) ? undefined : required.find((col) => row[col.name] === undefined || row[col.name] === null);
        if (missing) {
          error = new TesseraError(
            'E_BAD_ROW',
            `${table.name} row ${firstRow.get(k)! + 1}: missing required column ${missing.name} (the key is new, so the row is inserted)`,
          );
          break;
        }
      }
    }
    if (error) {
      refused.set(p, error);
      continue;
    }
    counts.set(p, op === 'delete' ? [...mine.keys()].filter((k) => live.has(k)).length : op === 'insert' ? p.rows.length : mine.size);
    for (const k of mine.keys()) {
      if (op === 'delete') live.delete(k);
      else live.add(k);
    }
  }
  return { refused, counts };
}

/** The keys (as keyOf strings of the request's values) that name a live row. */
async function liveKeySet(c: pg.PoolClient, table: CatalogTable, keys: string[], rows: Row[]): Promise<Set<string>> {
  const keyCols = keyColumns(table);
  const distinct = [...new Map(rows.map((r) => [keyOf(keys, r), r])).entries()];
  const live = new Set<string>();
  const CHUNK = 5000;
  for (let i = 0; i < distinct.length; i += CHUNK) {
    const part = distinct.slice(i, i + CHUNK);
    const { rows: hits } = await c.query(
      `SELECT u.__i FROM jsonb_to_recordset($1::jsonb) AS u(__i int, ${keyCols.map((k) => `${ident(k.name)} ${pgType(k.type)}`).join(', ')})
        WHERE EXISTS (SELECT 1 FROM ${table.physical} t WHERE ${keys.map((k) => `t.${ident(k)} = u.${ident(k)}`).join(' AND ')} AND t._v_max IS NULL)`,
      [JSON.stringify(part.map(([, r], j) => ({ __i: j, ...Object.fromEntries(keys.map((k) => [k, r[k]])) })))],
    );
    for (const h of hits) live.add(part[h.__i as number]![0]);
  }
  return live;
}
