import pg from 'pg';
import { redact, type ExportRow, type ExportSchema, type ExportSink } from '@tessera/core';
import { checkIdentifier } from '../../sql/identifiers';
import { SqlConnections, type SqlSinkOptions } from '../sql-connections';
import { batches, estimateRowBytes, lastPerKey } from '../rows';
import type { VectorMode } from './pg-columns';
import { KEEP, PgTarget, type PgPlan } from './pg-target';
import { columnParams, copyRows } from './pg-load';

/** `name` defaults to postgres:<schema>.<table>. */
export interface PostgresSinkOptions extends SqlSinkOptions {
  /** Postgres schema of the target table (default public) */
  schema?: string;
  /** embeddings: pgvector when the extension is installed in that database ('auto'), or force one */
  vector?: 'auto' | VectorMode;
  /**
   * How upserts reach the server: 'copy' (default) stages rows by binary COPY; 'params' sends each
   * batch as array parameters and unnests them, for proxies or servers that do not speak COPY.
   */
  load?: 'copy' | 'params';
}

/**
 * Upserts into the customer's Postgres. Rows are staged by binary COPY into a temporary table (one
 * per connection, kept and emptied at each commit) and merged with INSERT ... SELECT ... ON CONFLICT
 * in the same transaction: the speed of COPY with upsert semantics, and row data never in SQL text. Deletes pass the keys as array parameters.
 */
export class PostgresSink implements ExportSink {
  readonly name: string;
  private readonly db: SqlConnections<pg.Pool, pg.PoolClient, PgPlan>;

  constructor(private readonly opts: PostgresSinkOptions) {
    const schemaName = checkIdentifier('schema', opts.schema ?? 'public');
    const table = checkIdentifier('table', opts.table);
    this.name = opts.name ?? `postgres:${schemaName}.${table}`;
    const target = `postgres ${redact(opts.url)} ${schemaName}.${table}`;
    const { create, addColumns, dropColumns, vector } = opts;
    const planner = new PgTarget({ schemaName, table, name: this.name, target, create, addColumns, dropColumns, vector });
    this.db = new SqlConnections({
      target,
      open: () => {
        const pool = new pg.Pool({ connectionString: opts.url, max: opts.maxConnections ?? 2, connectionTimeoutMillis: 10_000 });
        pool.on('error', () => undefined); // an idle client lost its connection; the next query reconnects
        // a checked-out client too (a load transaction when the target restarts): without a listener
        // pg's 'error' event kills the worker; the statement in flight rejects and the client is dropped
        pool.on('connect', (client) => client.on('error', () => undefined));
        return pool;
      },
      end: (pool) => pool.end(),
      acquire: (pool) => pool.connect(),
      release: (c, broken) => c.release(broken),
      describe: (c, schema) => planner.describe(c, schema),
    });
  }

  async prepare(schema: ExportSchema): Promise<void> {
    await this.db.plan(schema);
  }

  async upsert(schema: ExportSchema, rows: ExportRow[]): Promise<void> {
    if (rows.length === 0) return;
    const p = await this.db.plan(schema);
    const unique = lastPerKey(schema, rows);
    await this.db.withPlan(schema, (client) => this.load(client, p, unique));
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
        await copyRows(client, p.stage, p.columns, unique);
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
    const p = await this.db.plan(schema);
    await this.db.withPlan(schema, async (client) => {
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
    const p = await this.db.plan(schema);
    let deleted = 0;
    await this.db.withPlan(schema, async (client) => {
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

  close(): Promise<void> {
    return this.db.close();
  }
}

/** `postgres({ url, table })`: an export sink into the customer's Postgres. */
export function postgres(opts: PostgresSinkOptions): ExportSink {
  return new PostgresSink(opts);
}
