import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { ConfigError, TransientError, type ExportRow, type ExportSchema, type ExportSink } from '@tessera/core';
import { checkIdentifier, quotePg } from '../../sql/identifiers';
import { asSqlError, redactUrl } from '../../sql/transient';
import { ExportSchemaMismatch } from '../schema-mismatch';
import { batches, estimateRowBytes, lastPerKey } from '../rows';
import { arrayLiteral, planPgColumn, type PgColumn, type VectorMode } from './pg-columns';
import { CopyWriter } from './copy-binary';

export interface PostgresSinkOptions {
  /** connection URL (credentials in it are never logged) */
  url: string;
  table: string;
  /** Postgres schema of the target table (default public) */
  schema?: string;
  /** create the table when it does not exist (otherwise it must exist and fit) */
  create?: boolean;
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

interface Prepared {
  columns: PgColumn[];
  /** the target's own column types (what we created, or what an existing table has) */
  targetTypes: string[];
  stageSql: string;
  insertSql: string;
  insertParamsSql: string;
  deleteSql: string;
  keyColumns: PgColumn[];
}

/**
 * Upserts into the customer's Postgres. Rows are staged by binary COPY into a temporary table and
 * merged with INSERT ... SELECT ... ON CONFLICT in the same transaction: the speed of COPY with upsert
 * semantics, and row data never in SQL text. Deletes pass the keys as array parameters.
 */
export class PostgresSink implements ExportSink {
  readonly name: string;
  private readonly pool: pg.Pool;
  private readonly schemaName: string;
  private readonly table: string;
  private readonly target: string;
  private prepared = new Map<string, Prepared>();

  constructor(private readonly opts: PostgresSinkOptions) {
    this.schemaName = checkIdentifier('schema', opts.schema ?? 'public');
    this.table = checkIdentifier('table', opts.table);
    this.name = opts.name ?? `postgres:${this.schemaName}.${this.table}`;
    this.target = `postgres ${redactUrl(opts.url)} ${this.schemaName}.${this.table}`;
    this.pool = new pg.Pool({ connectionString: opts.url, max: opts.maxConnections ?? 2, connectionTimeoutMillis: 10_000 });
    this.pool.on('error', () => undefined); // an idle client lost its connection; the next query reconnects
  }

  private get qualified(): string {
    return `${quotePg(this.schemaName)}.${quotePg(this.table)}`;
  }

  async prepare(schema: ExportSchema): Promise<void> {
    await this.ensure(schema);
  }

  /** Prepare once per schema shape; a prepare that failed (target down) is retried by the next call. */
  private async ensure(schema: ExportSchema): Promise<Prepared> {
    const sig = JSON.stringify([schema.columns, schema.key]);
    const hit = this.prepared.get(sig);
    if (hit) return hit;
    const p = await this.withClient((c) => this.describe(c, schema));
    this.prepared.set(sig, p);
    return p;
  }

  private async describe(client: pg.PoolClient, schema: ExportSchema): Promise<Prepared> {
    for (const c of schema.columns) checkIdentifier('column', c.name);
    if (schema.key.length === 0) throw new ConfigError(`export to ${this.name}: a key is needed for upserts`);
    const existing = await this.existingColumns(client);
    let columns: PgColumn[];
    let targetTypes: string[];
    if (existing.size === 0) {
      if (!this.opts.create) throw new ExportSchemaMismatch(this.target, `table ${this.schemaName}.${this.table} does not exist (set create: true to create it)`);
      const vector = await this.vectorMode(client);
      columns = schema.columns.map((c) => planPgColumn(c.name, c.type, vector));
      const defs = columns.map((c) => `${quotePg(c.name)} ${c.ddl}${schema.key.includes(c.name) ? ' not null' : ''}`);
      try {
        const ns = await client.query('select 1 from pg_namespace where nspname = $1', [this.schemaName]);
        if (!ns.rowCount) await client.query(`create schema if not exists ${quotePg(this.schemaName)}`);
        await client.query(`create table if not exists ${this.qualified} (${defs.join(', ')}, primary key (${schema.key.map(quotePg).join(', ')}))`);
      } catch (err) {
        // two workers creating the same table at once: the loser retries and finds the table there
        if (['23505', '42P07', '42P06'].includes((err as { code?: string }).code ?? '')) throw new TransientError(`${this.target}: created concurrently, retrying`);
        throw err;
      }
      targetTypes = columns.map((c) => c.ddl);
    } else {
      columns = this.checkFit(schema, existing);
      targetTypes = columns.map((c) => existing.get(c.name)!.type);
      await this.checkKey(client, schema);
    }
    const keyColumns = schema.key.map((k) => columns.find((c) => c.name === k)!);
    const stageSql = `create temp table ${STAGE} (${columns.map((c) => `${quotePg(c.name)} ${c.ddl}`).join(', ')}) on commit drop`;
    return { columns, targetTypes, keyColumns, stageSql, insertSql: this.insertSql(columns, targetTypes, schema.key), insertParamsSql: this.insertParamsSql(columns, schema.key), deleteSql: this.deleteSql(keyColumns) };
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
      if (!found) throw new ExportSchemaMismatch(this.target, `column ${c.name} is missing`, { column: c.name });
      const isVector = found.type.startsWith('vector');
      const mode: VectorMode = isVector ? 'pgvector' : 'real[]';
      if (this.opts.vector && this.opts.vector !== 'auto' && c.type.kind === 'array' && this.opts.vector !== mode) {
        throw new ExportSchemaMismatch(this.target, `column ${c.name} is ${found.type}, but vector: '${this.opts.vector}' was asked for`, { column: c.name });
      }
      const col = planPgColumn(c.name, c.type, mode);
      if (!col.fits(found.type)) {
        throw new ExportSchemaMismatch(this.target, `column ${c.name} is ${found.type}, expected ${col.expected}`, { column: c.name, found: found.type, expected: col.expected });
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
      throw new ExportSchemaMismatch(this.target, `no primary key or unique index on exactly (${schema.key.join(', ')}), which upserts need`, { key: schema.key });
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
        throw new ConfigError(`export to ${this.name}: vector: 'pgvector' was asked for, but the extension is not installed and cannot be created (${(err as Error).message})`);
      }
    }
    return 'real[]';
  }

  private onConflict(columns: PgColumn[], key: string[]): string {
    const updates = columns.filter((c) => !key.includes(c.name)).map((c) => `${quotePg(c.name)} = excluded.${quotePg(c.name)}`);
    return `on conflict (${key.map(quotePg).join(', ')}) do ${updates.length ? `update set ${updates.join(', ')}` : 'nothing'}`;
  }

  private insertSql(columns: PgColumn[], targetTypes: string[], key: string[]): string {
    const names = columns.map((c) => quotePg(c.name)).join(', ');
    const selects = columns.map((c, i) => `${quotePg(c.name)}::${targetTypes[i]}`).join(', ');
    return `insert into ${this.qualified} (${names}) select ${selects} from ${STAGE} ${this.onConflict(columns, key)}`;
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

  private async load(client: pg.PoolClient, p: Prepared, unique: ExportRow[]): Promise<void> {
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

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async withClient<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
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

const STAGE = 'tessera_export_stage';

/** Binary COPY into the staging table, in chunks of about a megabyte, minding backpressure. */
async function copyRows(client: pg.PoolClient, columns: PgColumn[], rows: ExportRow[]): Promise<void> {
  const stream = client.query(copyFrom(`copy ${STAGE} (${columns.map((c) => quotePg(c.name)).join(', ')}) from stdin with (format binary)`));
  const done = new Promise<void>((resolve, reject) => stream.on('finish', resolve).on('error', reject));
  let failed: unknown;
  stream.on('error', (err) => (failed = err));
  const w = new CopyWriter();
  const send = async (buf: Buffer) => {
    if (failed) throw failed;
    if (!stream.write(buf)) await drained(stream);
  };
  try {
    await send(CopyWriter.header());
    for (const row of rows) {
      w.int16(columns.length);
      for (const c of columns) {
        const v = row[c.name];
        if (v === null || v === undefined) w.null();
        else c.binary(w, v);
      }
      if (w.length >= 1 << 20) await send(w.take());
    }
    if (w.length) await send(w.take());
    stream.end(CopyWriter.trailer());
  } catch (err) {
    stream.destroy(err as Error);
    await done.catch(() => undefined);
    throw err;
  }
  await done;
}

/** Wait for a writable to drain, or to fail (the failure itself surfaces through `done`). */
function drained(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise<void>((resolve) => {
    const finish = () => {
      stream.removeListener('drain', finish);
      stream.removeListener('error', finish);
      resolve();
    };
    stream.on('drain', finish);
    stream.on('error', finish);
  });
}

/** One array literal per column: the whole batch in a handful of parameters. */
function columnParams(columns: PgColumn[], rows: ExportRow[]): string[] {
  return columns.map((c) => {
    const els = new Array<string>(rows.length);
    for (let i = 0; i < rows.length; i++) els[i] = c.element(rows[i]![c.name]);
    return arrayLiteral(els);
  });
}

/** `postgres({ url, table })`: an export sink into the customer's Postgres. */
export function postgres(opts: PostgresSinkOptions): ExportSink {
  return new PostgresSink(opts);
}
