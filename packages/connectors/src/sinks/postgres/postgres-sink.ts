import pg from 'pg';
import { redact, TransientError, type ExportRow, type ExportSchema, type ExportSink } from '@tessera/core';
import { checkIdentifier } from '../../sql/identifiers';
import { asSqlError } from '../../sql/transient';
import { batches, estimateRowBytes, lastPerKey } from '../rows';
import type { VectorMode } from './pg-columns';
import { KEEP, PgTarget, type PgPlan } from './pg-target';
import { columnParams, copyRows } from './pg-load';

export interface PostgresSinkOptions {
  /** connection URL (credentials in it are never logged) */
  url: string;
  table: string;
  /** Postgres schema of the target table (default public) */
  schema?: string;
  /** create the table when it does not exist (otherwise it must exist and fit); also adds exported columns it lacks */
  create?: boolean;
  /** add exported columns the table lacks, with ALTER TABLE (default: as `create`) */
  addColumns?: boolean;
  /** drop the target's columns that are not exported (opt-in, default false: it deletes the customer's data) */
  dropColumns?: boolean;
  /** embeddings: pgvector when the extension is installed in that database ('auto'), or force one */
  vector?: 'auto' | VectorMode;
  /** name in the catalog and on the CLI (default postgres:<schema>.<table>) */
  name?: string;
  /**
   * How upserts reach the server: 'copy' (default) stages rows by binary COPY; 'params' sends each
   * batch as array parameters and unnests them, for proxies or servers that do not speak COPY.
   */
  load?: 'copy' | 'params';
  /** pool size (default 2) */
  maxConnections?: number;
}

/**
 * Upserts into the customer's Postgres. Rows are staged by binary COPY into a temporary table and
 * merged with INSERT ... SELECT ... ON CONFLICT in the same transaction: the speed of COPY with upsert
 * semantics, and row data never in SQL text. Deletes pass the keys as array parameters.
 */
export class PostgresSink implements ExportSink {
  readonly name: string;
  private pool?: pg.Pool;
  private readonly target: string;
  private readonly targetTable: PgTarget;
  private prepared = new Map<string, PgPlan>();

  constructor(private readonly opts: PostgresSinkOptions) {
    const schemaName = checkIdentifier('schema', opts.schema ?? 'public');
    const table = checkIdentifier('table', opts.table);
    this.name = opts.name ?? `postgres:${schemaName}.${table}`;
    this.target = `postgres ${redact(opts.url)} ${schemaName}.${table}`;
    this.targetTable = new PgTarget({
      schemaName,
      table,
      name: this.name,
      target: this.target,
      create: opts.create,
      addColumns: opts.addColumns,
      dropColumns: opts.dropColumns,
      vector: opts.vector,
    });
  }

  /** The pool, opened on first use and again after close (a worker pool restarted in the same process). */
  private connections(): pg.Pool {
    if (!this.pool) {
      this.pool = new pg.Pool({ connectionString: this.opts.url, max: this.opts.maxConnections ?? 2, connectionTimeoutMillis: 10_000 });
      this.pool.on('error', () => undefined); // an idle client lost its connection; the next query reconnects
      // a checked-out client too (a load transaction when the target restarts): without a listener
      // pg's 'error' event kills the worker; the statement in flight rejects and the client is dropped
      this.pool.on('connect', (client) => client.on('error', () => undefined));
    }
    return this.pool;
  }

  async prepare(schema: ExportSchema): Promise<void> {
    await this.ensure(schema);
  }

  /** Prepare once per schema shape; a prepare that failed (target down) is retried by the next call. */
  private async ensure(schema: ExportSchema): Promise<PgPlan> {
    const sig = JSON.stringify([schema.columns, schema.key]);
    const hit = this.prepared.get(sig);
    if (hit) return hit;
    const p = await this.withClient((c) => this.targetTable.describe(c, schema));
    this.prepared.set(sig, p);
    return p;
  }

  async upsert(schema: ExportSchema, rows: ExportRow[]): Promise<void> {
    if (rows.length === 0) return;
    const p = await this.ensure(schema);
    const unique = lastPerKey(schema, rows);
    await this.withPlan(schema, (client) => this.load(client, p, unique));
  }

  /** Run against a prepared plan; a failure other than a transient one drops the plan, so the next try checks the target again. */
  private async withPlan(schema: ExportSchema, fn: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    try {
      await this.withClient(fn);
    } catch (err) {
      if (!(err instanceof TransientError)) this.prepared.delete(JSON.stringify([schema.columns, schema.key]));
      throw err;
    }
  }

  private async load(client: pg.PoolClient, p: PgPlan, unique: ExportRow[]): Promise<void> {
    await client.query('begin');
    try {
      if (this.opts.load === 'params') {
        const names = p.columns.map((c) => c.name);
        for (const batch of batches(unique, 10_000, 16 * 1024 * 1024, (r) => estimateRowBytes(r, names))) {
          await client.query(p.insertParamsSql, columnParams(p.columns, batch));
        }
      } else {
        await client.query(p.stageSql);
        await copyRows(client, p.columns, unique);
        await client.query(p.insertSql);
      }
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    }
  }

  async delete(schema: ExportSchema, keys: ExportRow[]): Promise<void> {
    if (keys.length === 0) return;
    const p = await this.ensure(schema);
    await this.withPlan(schema, async (client) => {
      for (const batch of batches(keys, 10_000, 16 * 1024 * 1024, (r) => estimateRowBytes(r, schema.key))) {
        await client.query(p.deleteSql, columnParams(p.keyColumns, batch));
      }
    });
  }

  /**
   * After a full ship: delete every target row whose key is not among `keys` (the source's live
   * keys). The keys go into a temporary table, then one anti-join delete, in one transaction.
   */
  async retain(schema: ExportSchema, keys: AsyncIterable<ExportRow[]>): Promise<number> {
    const p = await this.ensure(schema);
    let deleted = 0;
    await this.withPlan(schema, async (client) => {
      await client.query('begin');
      try {
        await client.query(p.keepSql);
        for await (const chunk of keys) {
          for (const batch of batches(chunk, 10_000, 16 * 1024 * 1024, (r) => estimateRowBytes(r, schema.key))) {
            await client.query(p.keepInsertSql, columnParams(p.keyColumns, batch));
          }
        }
        await client.query(`analyze ${KEEP}`);
        deleted = (await client.query(p.retainSql)).rowCount ?? 0;
        await client.query('commit');
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
      }
    });
    return deleted;
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  private async withClient<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.connections().connect();
    } catch (err) {
      throw asSqlError(err, this.target);
    }
    let broken = false;
    try {
      return await fn(client);
    } catch (err) {
      broken = true;
      throw asSqlError(err, this.target);
    } finally {
      client.release(broken);
    }
  }
}

/** `postgres({ url, table })`: an export sink into the customer's Postgres. */
export function postgres(opts: PostgresSinkOptions): ExportSink {
  return new PostgresSink(opts);
}
