import type pg from 'pg';
import { ConfigError, TransientError, type ExportSchema } from '@tessera/core';
import { checkIdentifier, quotePg } from '../../sql/identifiers';
import { ExportSchemaMismatch } from '../schema-mismatch';
import type { SqlTargetOptions } from '../sql-connections';
import { planPgColumn, type PgColumn, type VectorMode } from './pg-columns';
import { stageTable } from './pg-load';

/** What the sink needs to know about a target table, worked out once per export schema. */
export interface PgPlan {
  columns: PgColumn[];
  keyColumns: PgColumn[];
  /** the target's own column types (what we created, or what an existing table has) */
  targetTypes: string[];
  /** the connection's staging table for these columns (see stageTable) and the statement that makes it when missing */
  stage: string;
  stageSql: string;
  insertSql: string;
  insertParamsSql: string;
  deleteSql: string;
  /** a per-transaction table of the keys a full ship keeps, and the statements that fill it and delete the rest */
  keepSql: string;
  keepInsertSql: string;
  retainSql: string;
}

/** The per-transaction table of the keys a full ship keeps (ON COMMIT DROP). */
export const KEEP = 'tessera_export_keep';

export interface PgTargetOptions extends SqlTargetOptions {
  schemaName: string;
  vector?: 'auto' | VectorMode;
}

/**
 * The target table: created when asked, else checked to fit the exported columns (types, NOT NULL
 * columns we do not fill, a unique index on the key), and the statements that load it.
 */
export class PgTarget {
  private readonly schemaName: string;
  private readonly table: string;
  private readonly name: string;
  private readonly target: string;

  constructor(private readonly opts: PgTargetOptions) {
    this.schemaName = opts.schemaName;
    this.table = opts.table;
    this.name = opts.name;
    this.target = opts.target;
  }

  private get qualified(): string {
    return `${quotePg(this.schemaName)}.${quotePg(this.table)}`;
  }

  async describe(client: pg.PoolClient, schema: ExportSchema): Promise<PgPlan> {
    for (const c of schema.columns) checkIdentifier('column', c.name);
    if (schema.key.length === 0) throw new ConfigError(`export to ${this.name}: a key is needed for upserts`);
    let existing = await this.existingColumns(client);
    let columns: PgColumn[];
    let targetTypes: string[];
    if (existing.size === 0) {
      if (!this.opts.create)
        throw new ExportSchemaMismatch(this.target, `table ${this.schemaName}.${this.table} does not exist (set create: true to create it)`);
      const vector = await this.vectorMode(client);
      columns = schema.columns.map((c) => planPgColumn(c.name, c.type, vector));
      const defs = columns.map((c) => `${quotePg(c.name)} ${c.ddl}${schema.key.includes(c.name) ? ' not null' : ''}`);
      try {
        const ns = await client.query('select 1 from pg_namespace where nspname = $1', [this.schemaName]);
        if (!ns.rowCount) await client.query(`create schema if not exists ${quotePg(this.schemaName)}`);
        await client.query(`create table if not exists ${this.qualified} (${defs.join(', ')}, primary key (${schema.key.map(quotePg).join(', ')}))`);
      } catch (err) {
        // two workers creating the same table at once: the loser retries and finds the table there.
        // Which error it gets depends on where the two collide: a unique index of the catalog
        // (23505), the table or schema (42P07, 42P06), or the table's row type (42710)
        if (['23505', '42P07', '42P06', '42710'].includes((err as { code?: string }).code ?? ''))
          throw new TransientError(`${this.target}: created concurrently, retrying`);
        throw err;
      }
      targetTypes = columns.map((c) => c.ddl);
    } else {
      if (await this.alterColumns(client, schema, existing)) existing = await this.existingColumns(client);
      columns = this.checkFit(schema, existing);
      targetTypes = columns.map((c) => existing.get(c.name)!.type);
      await this.checkKey(client, schema);
    }
    const keyColumns = schema.key.map((k) => columns.find((c) => c.name === k)!);
    const stage = stageTable(columns);
    const keyTypes = schema.key.map((k) => targetTypes[columns.findIndex((c) => c.name === k)]!);
    return {
      columns,
      targetTypes,
      keyColumns,
      stage: stage.name,
      stageSql: stage.createSql,
      insertSql: this.insertSql(stage.name, columns, targetTypes, schema.key),
      insertParamsSql: this.insertParamsSql(columns, schema.key),
      deleteSql: this.deleteSql(keyColumns),
      keepSql: `create temp table ${KEEP} (${keyColumns.map((c, i) => `${quotePg(c.name)} ${keyTypes[i]}`).join(', ')}) on commit drop`,
      keepInsertSql: `insert into ${KEEP} select ${keyColumns.map((c, i) => `u.c${i}${c.cast}`).join(', ')} from unnest(${keyColumns.map((c, i) => `$${i + 1}::${c.paramType}`).join(', ')}) as u(${keyColumns.map((_, i) => `c${i}`).join(', ')})`,
      retainSql: `delete from ${this.qualified} t where not exists (select 1 from ${KEEP} k where ${keyColumns.map((c) => `k.${quotePg(c.name)} = t.${quotePg(c.name)}`).join(' and ')})`,
    };
  }

  /**
   * A table we may alter gains the exported columns it lacks (nullable, of the type we would create;
   * the full ship that follows fills them), and with `dropColumns` loses the columns not exported.
   * Returns whether it changed anything.
   */
  private async alterColumns(client: pg.PoolClient, schema: ExportSchema, existing: Map<string, { type: string }>): Promise<boolean> {
    const missing = schema.columns.filter((c) => !existing.has(c.name));
    const extra = this.opts.dropColumns ? [...existing.keys()].filter((n) => !schema.columns.some((c) => c.name === n)) : [];
    if (!(missing.length && (this.opts.addColumns ?? this.opts.create)) && !extra.length) return false;
    const vector = missing.length ? await this.vectorMode(client) : 'real[]';
    const actions = [
      ...((this.opts.addColumns ?? this.opts.create)
        ? missing.map((c) => `add column if not exists ${quotePg(c.name)} ${planPgColumn(c.name, c.type, vector).ddl}`)
        : []),
      ...extra.map((n) => `drop column if exists ${quotePg(n)}`),
    ];
    try {
      await client.query(`alter table ${this.qualified} ${actions.join(', ')}`);
    } catch (err) {
      // two workers altering at once: the loser tries again and finds the columns there
      if (['42701', '40P01'].includes((err as { code?: string }).code ?? '')) throw new TransientError(`${this.target}: altered concurrently, retrying`);
      throw err;
    }
    return true;
  }

  private async existingColumns(client: pg.PoolClient): Promise<Map<string, { type: string; notNull: boolean; hasDefault: boolean }>> {
    const res = await client.query<{ name: string; type: string; not_null: boolean; has_default: boolean }>(
      `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as not_null, a.atthasdef as has_default
         from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = $1 and c.relname = $2 and a.attnum > 0 and not a.attisdropped`,
      [this.schemaName, this.table],
    );
    return new Map(res.rows.map((r) => [r.name, { type: r.type, notNull: r.not_null, hasDefault: r.has_default }]));
  }

  private checkFit(schema: ExportSchema, existing: Map<string, { type: string; notNull: boolean; hasDefault: boolean }>): PgColumn[] {
    const columns = schema.columns.map((c) => {
      const found = existing.get(c.name);
      if (!found) {
        const ddl = planPgColumn(c.name, c.type, 'real[]').ddl;
        throw new ExportSchemaMismatch(
          this.target,
          `column ${c.name} is missing: add it (alter table ${this.qualified} add column ${quotePg(c.name)} ${ddl}) or set create: true (or addColumns: true) to let Tessera add it; the next ship re-ships every row`,
          { column: c.name },
        );
      }
      const isVector = found.type.startsWith('vector');
      const mode: VectorMode = isVector ? 'pgvector' : 'real[]';
      if (this.opts.vector && this.opts.vector !== 'auto' && c.type.kind === 'array' && this.opts.vector !== mode) {
        throw new ExportSchemaMismatch(this.target, `column ${c.name} is ${found.type}, but vector: '${this.opts.vector}' was asked for`, { column: c.name });
      }
      const col = planPgColumn(c.name, c.type, mode);
      if (!col.fits(found.type)) {
        throw new ExportSchemaMismatch(this.target, `column ${c.name} is ${found.type}, expected ${col.expected}`, {
          column: c.name,
          found: found.type,
          expected: col.expected,
        });
      }
      // cast to the column's own type (e.g. an existing double precision[] or json column)
      return col.cast ? { ...col, cast: `::${found.type}` } : col;
    });
    for (const [name, col] of existing) {
      if (col.notNull && !col.hasDefault && !schema.columns.some((c) => c.name === name)) {
        throw new ExportSchemaMismatch(this.target, `column ${name} is NOT NULL without a default and is not exported`, { column: name });
      }
    }
    return columns;
  }

  /** ON CONFLICT needs a unique index on exactly the key columns. */
  private async checkKey(client: pg.PoolClient, schema: ExportSchema): Promise<void> {
    const res = await client.query<{ cols: string[] }>(
      `select array_agg(a.attname::text order by a.attname) as cols
         from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
        where i.indrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass and i.indisunique and i.indpred is null
        group by i.indexrelid`,
      [this.schemaName, this.table],
    );
    const want = [...schema.key].sort().join(',');
    if (!res.rows.some((r) => r.cols.join(',') === want)) {
      throw new ExportSchemaMismatch(this.target, `no primary key or unique index on exactly (${schema.key.join(', ')}), which upserts need`, {
        key: schema.key,
      });
    }
  }

  private async vectorMode(client: pg.PoolClient): Promise<VectorMode> {
    const want = this.opts.vector ?? 'auto';
    if (want === 'real[]') return 'real[]';
    const res = await client.query(`select 1 from pg_extension where extname = 'vector'`);
    if (res.rowCount) return 'pgvector';
    if (want === 'pgvector') {
      try {
        await client.query('create extension if not exists vector');
        return 'pgvector';
      } catch (err) {
        throw new ConfigError(
          `export to ${this.name}: vector: 'pgvector' was asked for, but the extension is not installed and cannot be created (${(err as Error).message})`,
        );
      }
    }
    return 'real[]';
  }

  private onConflict(columns: PgColumn[], key: string[]): string {
    const updates = columns.filter((c) => !key.includes(c.name)).map((c) => `${quotePg(c.name)} = excluded.${quotePg(c.name)}`);
    return `on conflict (${key.map(quotePg).join(', ')}) do ${updates.length ? `update set ${updates.join(', ')}` : 'nothing'}`;
  }

  private insertSql(stage: string, columns: PgColumn[], targetTypes: string[], key: string[]): string {
    const names = columns.map((c) => quotePg(c.name)).join(', ');
    const selects = columns.map((c, i) => `${quotePg(c.name)}::${targetTypes[i]}`).join(', ');
    return `insert into ${this.qualified} (${names}) select ${selects} from ${stage} ${this.onConflict(columns, key)}`;
  }

  private insertParamsSql(columns: PgColumn[], key: string[]): string {
    const names = columns.map((c) => quotePg(c.name)).join(', ');
    const aliases = columns.map((_, i) => `c${i}`).join(', ');
    const selects = columns.map((c, i) => `u.c${i}${c.cast}`).join(', ');
    const params = columns.map((c, i) => `$${i + 1}::${c.paramType}`).join(', ');
    return `insert into ${this.qualified} (${names}) select ${selects} from unnest(${params}) as u(${aliases}) ${this.onConflict(columns, key)}`;
  }

  private deleteSql(keyColumns: PgColumn[]): string {
    const names = keyColumns.map((c) => quotePg(c.name)).join(', ');
    const selects = keyColumns.map((c, i) => `u.c${i}${c.cast}`).join(', ');
    const params = keyColumns.map((c, i) => `$${i + 1}::${c.paramType}`).join(', ');
    const aliases = keyColumns.map((_, i) => `c${i}`).join(', ');
    return `delete from ${this.qualified} where (${names}) in (select ${selects} from unnest(${params}) as u(${aliases}))`;
  }
}
