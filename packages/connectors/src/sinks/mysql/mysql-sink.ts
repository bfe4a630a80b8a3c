import mysql from 'mysql2/promise';
import { ConfigError, TransientError, type ExportRow, type ExportSchema, type ExportSink } from '@tessera/core';
import { checkIdentifier, quoteMy } from '../../sql/identifiers';
import { asSqlError, redactUrl } from '../../sql/transient';
import { ExportSchemaMismatch } from '../schema-mismatch';
import { batches, estimateRowBytes, lastPerKey } from '../rows';
import { planMyColumn, vectorSupport, type EmbeddingStorage, type MyColumn, type ServerInfo } from './my-columns';

export interface MysqlSinkOptions {
  /** mysql://user:pass@host:port/database */
  url: string;
  table: string;
  create?: boolean;
  /** embeddings: the server's VECTOR type when it has one ('auto', the default), JSON, or a little-endian float32 BLOB */
  embeddingAs?: 'auto' | EmbeddingStorage;
  name?: string;
  maxConnections?: number;
  /** upper bound of one statement's parameters, in bytes (default 8 MiB, below the usual max_allowed_packet) */
  batchBytes?: number;
}

interface Prepared {
  columns: MyColumn[];
  keyColumns: MyColumn[];
}

const MAX_PLACEHOLDERS = 65_535;

/**
 * Upserts into MySQL or MariaDB with multi-row INSERT ... ON DUPLICATE KEY UPDATE, sent as server-side
 * prepared statements, so row data travels as parameters and never as SQL text.
 */
export class MysqlSink implements ExportSink {
  readonly name: string;
  private readonly pool: mysql.Pool;
  private readonly table: string;
  private readonly target: string;
  private readonly prepared = new Map<string, Prepared>();
  private server?: ServerInfo;

  constructor(private readonly opts: MysqlSinkOptions) {
    this.table = checkIdentifier('table', opts.table);
    this.name = opts.name ?? `mysql:${this.table}`;
    this.target = `mysql ${redactUrl(opts.url)} ${this.table}`;
    this.pool = mysql.createPool({ uri: opts.url, connectionLimit: opts.maxConnections ?? 2, connectTimeout: 10_000, timezone: 'Z', supportBigNumbers: true });
  }

  async prepare(schema: ExportSchema): Promise<void> {
    await this.ensure(schema);
  }

  private async ensure(schema: ExportSchema): Promise<Prepared> {
    const sig = JSON.stringify([schema.columns, schema.key]);
    const hit = this.prepared.get(sig);
    if (hit) return hit;
    const p = await this.withConnection((c) => this.describe(c, schema));
    this.prepared.set(sig, p);
    return p;
  }

  private async serverInfo(c: mysql.PoolConnection): Promise<ServerInfo> {
    if (!this.server) {
      const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
      const v = String(rows[0]!.v);
      const m = /^(\d+)\.(\d+)/.exec(v);
      this.server = { mariadb: /mariadb/i.test(v), version: [Number(m?.[1] ?? 0), Number(m?.[2] ?? 0)] };
    }
    return this.server;
  }

  private async describe(c: mysql.PoolConnection, schema: ExportSchema): Promise<Prepared> {
    for (const col of schema.columns) checkIdentifier('column', col.name);
    if (schema.key.length === 0) throw new ConfigError(`export to ${this.name}: a key is needed for upserts`);
    const server = await this.serverInfo(c);
    const asked = this.opts.embeddingAs ?? 'auto';
    if (asked === 'vector' && !vectorSupport(server)) throw new ConfigError(`export to ${this.name}: embeddingAs 'vector' needs MariaDB 11.7+ or MySQL 9+`);
    const embeddings: EmbeddingStorage = asked === 'auto' ? (vectorSupport(server) ? 'vector' : 'json') : asked;
    const plan = (name: string, type: ExportSchema['columns'][number]['type'], storage = embeddings) =>
      planMyColumn(name, type, schema.key.includes(name), storage, server);

    const [existing] = await c.query<mysql.RowDataPacket[]>(
      `SELECT column_name AS name, data_type AS dataType, column_type AS columnType, is_nullable AS nullable, column_default AS def, extra
         FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?`,
      [this.table],
    );
    let columns: MyColumn[];
    if (existing.length === 0) {
      if (!this.opts.create) throw new ExportSchemaMismatch(this.target, `table ${this.table} does not exist (set create: true to create it)`);
      columns = schema.columns.map((col) => plan(col.name, col.type));
      const defs = columns.map((col) => `${quoteMy(col.name)} ${col.ddl}${schema.key.includes(col.name) ? ' NOT NULL' : ' NULL'}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${quoteMy(this.table)} (${defs.join(', ')}, PRIMARY KEY (${schema.key.map(quoteMy).join(', ')})) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
    } else {
      const byName = new Map(existing.map((r) => [String(r.name), r]));
      columns = schema.columns.map((col) => {
        const found = byName.get(col.name);
        if (!found) throw new ExportSchemaMismatch(this.target, `column ${col.name} is missing`, { column: col.name });
        const dataType = String(found.dataType).toLowerCase();
        // an existing embedding column decides its own storage
        const storage: EmbeddingStorage = dataType === 'vector' ? 'vector' : dataType.includes('blob') || dataType === 'varbinary' ? 'blob' : embeddings === 'blob' ? 'json' : embeddings;
        const planned = plan(col.name, col.type, col.type.kind === 'array' ? storage : embeddings);
        if (!planned.fits(dataType, String(found.columnType))) {
          throw new ExportSchemaMismatch(this.target, `column ${col.name} is ${String(found.columnType)}, expected ${planned.expected}`, { column: col.name, found: found.columnType, expected: planned.expected });
        }
        return planned;
      });
      for (const r of existing) {
        const name = String(r.name);
        if (r.nullable === 'NO' && r.def === null && !String(r.extra).includes('auto_increment') && !schema.columns.some((col) => col.name === name)) {
          throw new ExportSchemaMismatch(this.target, `column ${name} is NOT NULL without a default and is not exported`, { column: name });
        }
      }
      await this.checkKey(c, schema);
    }
    return { columns, keyColumns: schema.key.map((k) => columns.find((col) => col.name === k)!) };
  }

  private async checkKey(c: mysql.PoolConnection, schema: ExportSchema): Promise<void> {
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      `SELECT index_name AS idx, GROUP_CONCAT(column_name ORDER BY column_name) AS cols
         FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND non_unique = 0 GROUP BY index_name`,
      [this.table],
    );
    const want = [...schema.key].sort().join(',');
    if (!rows.some((r) => String(r.cols) === want)) {
      throw new ExportSchemaMismatch(this.target, `no primary key or unique index on exactly (${schema.key.join(', ')}), which upserts need`, { key: schema.key });
    }
  }

  async upsert(schema: ExportSchema, rows: ExportRow[]): Promise<void> {
    if (rows.length === 0) return;
    const p = await this.ensure(schema);
    const unique = lastPerKey(schema, rows);
    const names = p.columns.map((col) => col.name);
    const rowTuple = `(${p.columns.map((col) => col.placeholder).join(', ')})`;
    const updates = p.columns.filter((col) => !schema.key.includes(col.name)).map((col) => `${quoteMy(col.name)} = VALUES(${quoteMy(col.name)})`);
    const head = `INSERT INTO ${quoteMy(this.table)} (${names.map(quoteMy).join(', ')}) VALUES `;
    const tail = ` ON DUPLICATE KEY UPDATE ${updates.length ? updates.join(', ') : `${quoteMy(names[0]!)} = ${quoteMy(names[0]!)}`}`;
    const maxRows = Math.floor(MAX_PLACEHOLDERS / p.columns.length);
    await this.withPlan(schema, async (c) => {
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
    const p = await this.ensure(schema);
    const tuple = p.keyColumns.length === 1 ? '?' : `(${p.keyColumns.map(() => '?').join(', ')})`;
    const lhs = p.keyColumns.length === 1 ? quoteMy(p.keyColumns[0]!.name) : `(${p.keyColumns.map((col) => quoteMy(col.name)).join(', ')})`;
    await this.withPlan(schema, async (c) => {
      for (const batch of batches(keys, Math.floor(MAX_PLACEHOLDERS / p.keyColumns.length), 8 * 1024 * 1024, (r) => estimateRowBytes(r, schema.key))) {
        const params = batch.flatMap((row) => p.keyColumns.map((col) => col.encode(row[col.name])));
        await c.execute(`DELETE FROM ${quoteMy(this.table)} WHERE ${lhs} IN (${new Array(batch.length).fill(tuple).join(', ')})`, params as never);
      }
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** A failure other than a transient one drops the plan, so the next try checks the target again. */
  private async withPlan(schema: ExportSchema, fn: (c: mysql.PoolConnection) => Promise<void>): Promise<void> {
    try {
      await this.withConnection(fn);
    } catch (err) {
      if (!(err instanceof TransientError)) this.prepared.delete(JSON.stringify([schema.columns, schema.key]));
      throw err;
    }
  }

  private async withConnection<T>(fn: (c: mysql.PoolConnection) => Promise<T>): Promise<T> {
    let c: mysql.PoolConnection;
    try {
      c = await this.pool.getConnection();
    } catch (err) {
      throw asSqlError(err, this.target);
    }
    try {
      return await fn(c);
    } catch (err) {
      throw asSqlError(err, this.target);
    } finally {
      c.release();
    }
  }
}

/** `mysql({ url, table })`: an export sink into the customer's MySQL or MariaDB. */
export function mysqlSink(opts: MysqlSinkOptions): ExportSink {
  return new MysqlSink(opts);
}
