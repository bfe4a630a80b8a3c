import type mysql from 'mysql2/promise';
import { ConfigError, TransientError, type ExportSchema } from '@tessera/core';
import { checkIdentifier, quoteMy } from '../../sql/identifiers';
import { ExportSchemaMismatch } from '../schema-mismatch';
import type { SqlTargetOptions } from '../sql-connections';
import { parseServerVersion, planMyColumn, vectorSupport, type EmbeddingStorage, type MyColumn, type ServerInfo } from './my-columns';

export interface MyPlan {
  columns: MyColumn[];
  keyColumns: MyColumn[];
}

export interface MyTargetOptions extends SqlTargetOptions {
  embeddingAs?: 'auto' | EmbeddingStorage;
}

/**
 * The target table: created when asked, else checked to fit (types, NOT NULL columns we do not
 * fill, a unique index on the key). The server's version decides whether VECTOR is there.
 */
export class MyTarget {
  private readonly table: string;
  private readonly name: string;
  private readonly target: string;
  private server?: ServerInfo;

  constructor(private readonly opts: MyTargetOptions) {
    this.table = opts.table;
    this.name = opts.name;
    this.target = opts.target;
  }

  private async serverInfo(c: mysql.PoolConnection): Promise<ServerInfo> {
    if (!this.server) {
      const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
      this.server = parseServerVersion(String(rows[0]!.v));
    }
    return this.server;
  }

  async describe(c: mysql.PoolConnection, schema: ExportSchema): Promise<MyPlan> {
    for (const col of schema.columns) checkIdentifier('column', col.name);
    if (schema.key.length === 0) throw new ConfigError(`export to ${this.name}: a key is needed for upserts`);
    const server = await this.serverInfo(c);
    const asked = this.opts.embeddingAs ?? 'auto';
    if (asked === 'vector' && !vectorSupport(server)) throw new ConfigError(`export to ${this.name}: embeddingAs 'vector' needs MariaDB 11.7+ or MySQL 9+`);
    const embeddings: EmbeddingStorage = asked === 'auto' ? (vectorSupport(server) ? 'vector' : 'json') : asked;
    const plan = (name: string, type: ExportSchema['columns'][number]['type'], storage = embeddings) =>
      planMyColumn(name, type, schema.key.includes(name), storage, server);

    const describeColumns = async () =>
      (
        await c.query<mysql.RowDataPacket[]>(
          `SELECT column_name AS name, data_type AS dataType, column_type AS columnType, is_nullable AS nullable, column_default AS def, extra
             FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?`,
          [this.table],
        )
      )[0];
    let existing = await describeColumns();
    if (
      existing.length &&
      (await this.alterColumns(
        c,
        schema,
        existing.map((r) => String(r.name)),
        (col) => plan(col.name, col.type),
      ))
    )
      existing = await describeColumns();
    let columns: MyColumn[];
    if (existing.length === 0) {
      if (!this.opts.create) throw new ExportSchemaMismatch(this.target, `table ${this.table} does not exist (set create: true to create it)`);
      columns = schema.columns.map((col) => plan(col.name, col.type));
      const defs = columns.map((col) => `${quoteMy(col.name)} ${col.ddl}${schema.key.includes(col.name) ? ' NOT NULL' : ' NULL'}`);
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${quoteMy(this.table)} (${defs.join(', ')}, PRIMARY KEY (${schema.key.map(quoteMy).join(', ')})) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      );
    } else {
      const byName = new Map(existing.map((r) => [String(r.name), r]));
      columns = schema.columns.map((col) => {
        const found = byName.get(col.name);
        if (!found) {
          throw new ExportSchemaMismatch(
            this.target,
            `column ${col.name} is missing: add it (ALTER TABLE ${quoteMy(this.table)} ADD COLUMN ${quoteMy(col.name)} ${plan(col.name, col.type).ddl} NULL) or set create: true (or addColumns: true) to let Tessera add it; the next ship re-ships every row`,
            { column: col.name },
          );
        }
        const dataType = String(found.dataType).toLowerCase();
        // an existing embedding column decides its own storage (unless another one was asked for by name)
        const storage: EmbeddingStorage = dataType === 'vector' ? 'vector' : dataType.includes('blob') || dataType === 'varbinary' ? 'blob' : 'json';
        const isEmbedding = col.type.kind === 'array' && (col.type.element ?? 'float') === 'float' && col.type.dim !== undefined;
        if (isEmbedding && asked !== 'auto' && asked !== storage) {
          throw new ExportSchemaMismatch(this.target, `column ${col.name} is ${String(found.columnType)}, but embeddingAs: '${asked}' was asked for`, {
            column: col.name,
          });
        }
        const planned = plan(col.name, col.type, col.type.kind === 'array' ? storage : embeddings);
        if (!planned.fits(dataType, String(found.columnType))) {
          throw new ExportSchemaMismatch(this.target, `column ${col.name} is ${String(found.columnType)}, expected ${planned.expected}`, {
            column: col.name,
            found: found.columnType,
            expected: planned.expected,
          });
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

  /** Add the exported columns the table lacks (when allowed) and drop unexported ones (when asked); returns whether it altered the table. */
  private async alterColumns(
    c: mysql.PoolConnection,
    schema: ExportSchema,
    names: string[],
    plan: (col: ExportSchema['columns'][number]) => MyColumn,
  ): Promise<boolean> {
    const add = (this.opts.addColumns ?? this.opts.create) ? schema.columns.filter((col) => !names.includes(col.name)) : [];
    const drop = this.opts.dropColumns ? names.filter((n) => !schema.columns.some((col) => col.name === n)) : [];
    if (!add.length && !drop.length) return false;
    // no IF [NOT] EXISTS: MySQL 8 lacks it; two workers altering at once make the loser try again
    const actions = [...add.map((col) => `ADD COLUMN ${quoteMy(col.name)} ${plan(col).ddl} NULL`), ...drop.map((n) => `DROP COLUMN ${quoteMy(n)}`)];
    try {
      await c.query(`ALTER TABLE ${quoteMy(this.table)} ${actions.join(', ')}`);
    } catch (err) {
      if ([1060, 1091].includes((err as { errno?: number }).errno ?? 0)) throw new TransientError(`${this.target}: altered concurrently, retrying`);
      throw err;
    }
    return true;
  }

  private async checkKey(c: mysql.PoolConnection, schema: ExportSchema): Promise<void> {
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      `SELECT index_name AS idx, GROUP_CONCAT(column_name ORDER BY column_name) AS cols
         FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND non_unique = 0 GROUP BY index_name`,
      [this.table],
    );
    const want = [...schema.key].sort().join(',');
    if (!rows.some((r) => String(r.cols) === want)) {
      throw new ExportSchemaMismatch(this.target, `no primary key or unique index on exactly (${schema.key.join(', ')}), which upserts need`, {
        key: schema.key,
      });
    }
  }
}
