import type mysql from 'mysql2/promise';
import { redact, type ExportRow, type ExportSchema, type ExportSink } from '@tessera/core';
import { checkIdentifier, quoteMy } from '../../sql/identifiers';
import { SqlConnections, type SqlSinkOptions } from '../sql-connections';
import { batches, estimateRowBytes, lastPerKey } from '../rows';
import type { EmbeddingStorage } from './my-columns';
import { MyTarget, type MyPlan } from './my-target';
import { mysqlDriver } from '../../sdk/modules';

/** `url` is mysql://user:pass@host:port/database; `name` defaults to mysql:<table>. */
export interface MysqlSinkOptions extends SqlSinkOptions {
  /** embeddings: the server's VECTOR type when it has one ('auto', the default), JSON, or a little-endian float32 BLOB */
  embeddingAs?: 'auto' | EmbeddingStorage;
  /** upper bound of one statement's parameters, in bytes (default 8 MiB, below the usual max_allowed_packet) */
  batchBytes?: number;
}

const MAX_PLACEHOLDERS = 65_535;

/**
 * Upserts into MySQL or MariaDB with multi-row INSERT ... ON DUPLICATE KEY UPDATE, sent as server-side
 * prepared statements, so row data travels as parameters and never as SQL text.
 */
export class MysqlSink implements ExportSink {
  readonly name: string;
  private readonly table: string;
  /** the pool is created on first use, so loading a pipeline that declares this sink does not load mysql2 */
  private readonly db: SqlConnections<mysql.Pool, mysql.PoolConnection, MyPlan>;

  constructor(private readonly opts: MysqlSinkOptions) {
    this.table = checkIdentifier('table', opts.table);
    this.name = opts.name ?? `mysql:${this.table}`;
    const target = `mysql ${redact(opts.url)} ${this.table}`;
    const { create, addColumns, dropColumns, embeddingAs } = opts;
    const planner = new MyTarget({ table: this.table, name: this.name, target, create, addColumns, dropColumns, embeddingAs });
    this.db = new SqlConnections({
      target,
      open: async () =>
        (await mysqlDriver()).createPool({
          uri: opts.url,
          connectionLimit: opts.maxConnections ?? 2,
          connectTimeout: 10_000,
          timezone: 'Z',
          supportBigNumbers: true,
        }),
      end: (pool) => pool.end(),
      acquire: (pool) => pool.getConnection(),
      release: (c) => c.release(),
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
    const names = p.columns.map((col) => col.name);
    const rowTuple = `(${p.columns.map((col) => col.placeholder).join(', ')})`;
    const updates = p.columns.filter((col) => !schema.key.includes(col.name)).map((col) => `${quoteMy(col.name)} = VALUES(${quoteMy(col.name)})`);
    const head = `INSERT INTO ${quoteMy(this.table)} (${names.map(quoteMy).join(', ')}) VALUES `;
    const tail = ` ON DUPLICATE KEY UPDATE ${updates.length ? updates.join(', ') : `${quoteMy(names[0]!)} = ${quoteMy(names[0]!)}`}`;
    const maxRows = Math.floor(MAX_PLACEHOLDERS / p.columns.length);
    await this.db.withPlan(schema, async (c) => {
      await c.beginTransaction();
      try {
        for (const batch of batches(unique, maxRows, this.opts.batchBytes ?? 8 * 1024 * 1024, (r) => estimateRowBytes(r, names))) {
          const params: unknown[] = [];
          for (const row of batch) for (const col of p.columns) params.push(col.encode(row[col.name]));
          await c.execute(head + new Array(batch.length).fill(rowTuple).join(', ') + tail, params as never);
        }
        await c.commit();
      } catch (err) {
        await c.rollback().catch(() => undefined);
        throw err;
      }
    });
  }

  async delete(schema: ExportSchema, keys: ExportRow[]): Promise<void> {
    if (keys.length === 0) return;
    const p = await this.db.plan(schema);
    const tuple = p.keyColumns.length === 1 ? '?' : `(${p.keyColumns.map(() => '?').join(', ')})`;
    const lhs = p.keyColumns.length === 1 ? quoteMy(p.keyColumns[0]!.name) : `(${p.keyColumns.map((col) => quoteMy(col.name)).join(', ')})`;
    await this.db.withPlan(schema, async (c) => {
      for (const batch of batches(keys, Math.floor(MAX_PLACEHOLDERS / p.keyColumns.length), 8 * 1024 * 1024, (r) => estimateRowBytes(r, schema.key))) {
        const params = batch.flatMap((row) => p.keyColumns.map((col) => col.encode(row[col.name])));
        await c.execute(`DELETE FROM ${quoteMy(this.table)} WHERE ${lhs} IN (${new Array(batch.length).fill(tuple).join(', ')})`, params as never);
      }
    });
  }

  /**
   * After a full ship: delete every target row whose key is not among `keys` (the source's live
   * keys): the keys go into a temporary table, then one anti-join DELETE.
   */
  async retain(schema: ExportSchema, keys: AsyncIterable<ExportRow[]>): Promise<number> {
    const p = await this.db.plan(schema);
    const keep = '`tessera_export_keep`';
    const cols = p.keyColumns.map((col) => quoteMy(col.name));
    let deleted = 0;
    await this.db.withPlan(schema, async (c) => {
      await c.query(`DROP TEMPORARY TABLE IF EXISTS ${keep}`);
      await c.query(
        `CREATE TEMPORARY TABLE ${keep} (${p.keyColumns.map((col) => `${quoteMy(col.name)} ${col.ddl} NOT NULL`).join(', ')}, PRIMARY KEY (${cols.join(', ')})) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      );
      try {
        const tuple = `(${p.keyColumns.map(() => '?').join(', ')})`;
        for await (const chunk of keys) {
          for (const batch of batches(chunk, Math.floor(MAX_PLACEHOLDERS / p.keyColumns.length), 8 * 1024 * 1024, (r) => estimateRowBytes(r, schema.key))) {
            const params = batch.flatMap((row) => p.keyColumns.map((col) => col.encode(row[col.name])));
            await c.execute(`INSERT IGNORE INTO ${keep} (${cols.join(', ')}) VALUES ${new Array(batch.length).fill(tuple).join(', ')}`, params as never);
          }
        }
        const on = cols.map((col) => `k.${col} = t.${col}`).join(' AND ');
        const [res] = await c.query<mysql.ResultSetHeader>(`DELETE t FROM ${quoteMy(this.table)} t LEFT JOIN ${keep} k ON ${on} WHERE k.${cols[0]} IS NULL`);
        deleted = res.affectedRows;
      } finally {
        await c.query(`DROP TEMPORARY TABLE IF EXISTS ${keep}`).catch(() => undefined);
      }
    });
    return deleted;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/** `mysql({ url, table })`: an export sink into the customer's MySQL or MariaDB. */
export function mysqlSink(opts: MysqlSinkOptions): ExportSink {
  return new MysqlSink(opts);
}
