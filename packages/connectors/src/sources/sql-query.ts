import pg from 'pg';
import type mysql from 'mysql2/promise';
import { ConfigError, redact, type QueryCursor, type QueryPage, type QueryReader, type SourceReader } from '@tessera/core';
import { checkIdentifier, quoteMy, quotePg } from '../sql/identifiers';
import { asSqlError } from '../sql/transient';
import { mysqlDriver } from '../sdk/modules';

export interface SqlQueryOptions {
  /** the customer's database: postgres://... or mysql:// (mariadb:// too); credentials are never logged */
  url: string;
  /** any SELECT; Tessera wraps it to filter by the watermark, order and page it */
  query: string;
  /** a column of the query that increases when a row is added or changed (`updated_at`, an increasing `id`) */
  watermark: string;
  /** columns that, with the watermark, identify a row (ties on the watermark are paged by them); without, pages end on whole watermark groups */
  key?: string | string[];
  /** a column marking a row deleted (non-null and not false): the row is deleted from the table rather than written */
  deleted?: string;
}

const WM = '__tessera_wm';
const K = (i: number) => `__tessera_k${i}`;

/**
 * A SQL query against the customer's Postgres, MySQL or MariaDB, read incrementally: each run reads
 * the rows whose watermark is past the last committed one, in pages ordered by (watermark, key).
 * Rows whose watermark is NULL are never read. The cursor keeps the watermark as the database
 * prints it, so no precision is lost (microsecond timestamps) between pages.
 */
export function sqlQuery(opts: SqlQueryOptions): SourceReader<Record<string, unknown>> {
  const dialect = /^postgres(ql)?:/i.test(opts.url) ? 'pg' : /^(mysql|mariadb):/i.test(opts.url) ? 'my' : undefined;
  if (!dialect) throw new ConfigError(`sqlQuery: url must start with postgres://, mysql:// or mariadb:// (got ${redact(opts.url)})`);
  const body = opts.query.trim().replace(/;\s*$/, '');
  if (body.includes(';')) throw new ConfigError('sqlQuery: query must be a single SELECT statement');
  checkIdentifier('watermark column', opts.watermark);
  const keys = opts.key === undefined ? [] : [opts.key].flat();
  keys.forEach((k) => checkIdentifier('key column', k));
  if (opts.deleted) checkIdentifier('deleted column', opts.deleted);
  const target = `${dialect === 'pg' ? 'postgres' : 'mysql'} ${redact(opts.url)}`;
  const q = dialect === 'pg' ? quotePg : quoteMy;
  const asText = (col: string) => (dialect === 'pg' ? `(q.${q(col)})::text` : `CAST(q.${q(col)} AS CHAR)`);
  const select = `SELECT q.*, ${[asText(opts.watermark) + ` AS ${q(WM)}`, ...keys.map((k, i) => `${asText(k)} AS ${q(K(i))}`)].join(', ')} FROM (${body}) AS q`;
  const order = `ORDER BY ${[opts.watermark, ...keys].map((c) => `q.${q(c)}`).join(', ')}`;
  const ph = (i: number) => (dialect === 'pg' ? `$${i}` : '?');

  let pgPool: pg.Pool | undefined;
  let myPool: mysql.Pool | undefined;
  const run = async (sql: string, params: unknown[]): Promise<Array<Record<string, unknown>>> => {
    try {
      if (dialect === 'pg') {
        if (!pgPool) {
          pgPool = new pg.Pool({ connectionString: opts.url, max: 1, connectionTimeoutMillis: 10_000 });
          pgPool.on('error', () => undefined); // an idle connection lost: the next query reconnects
        }
        return (await pgPool.query(sql, params)).rows;
      }
      const driver = await mysqlDriver();
      myPool ??= driver.createPool({
        uri: opts.url.replace(/^mariadb:/i, 'mysql:'),
        connectionLimit: 1,
        connectTimeout: 10_000,
        timezone: 'Z',
        supportBigNumbers: true,
      });
      const [rows] = await myPool.query<mysql.RowDataPacket[]>(sql, params);
      return rows as Array<Record<string, unknown>>;
    } catch (err) {
      throw asSqlError(err, `source query on ${target}`);
    }
  };
  const strip = (rows: Array<Record<string, unknown>>): QueryPage => {
    const last = rows.at(-1);
    const cursor: QueryCursor | null = last ? { watermark: String(last[WM]), key: keys.map((_, i) => String(last[K(i)])) } : null;
    return {
      rows: rows.map((r) => {
        const out = { ...r };
        delete out[WM];
        keys.forEach((_, i) => delete out[K(i)]);
        return out;
      }),
      cursor,
    };
  };

  const reader: QueryReader = {
    kind: 'query',
    description: `${target}: ${opts.query.replace(/\s+/g, ' ').trim().slice(0, 120)} (watermark ${opts.watermark}${keys.length ? `, key ${keys.join(', ')}` : ''})`,
    ...(opts.deleted ? { deletedColumn: opts.deleted } : {}),
    async page(after, limit) {
      const n = Math.max(1, Math.floor(limit));
      const wm = `q.${q(opts.watermark)}`;
      if (keys.length && after && !after.inclusive) {
        const where = `WHERE (${[wm, ...keys.map((k) => `q.${q(k)}`)].join(', ')}) > (${[1, ...keys.map((_, i) => i + 2)].map(ph).join(', ')})`;
        return strip(await run(`${select} ${where} ${order} LIMIT ${n}`, [after.watermark, ...after.key]));
      }
      const past = after ? `${wm} ${after.inclusive ? '>=' : '>'} ${ph(1)}` : `${wm} IS NOT NULL`;
      const params = after ? [after.watermark] : [];
      if (keys.length) return strip(await run(`${select} WHERE ${past} ${order} LIMIT ${n}`, params));
      // no key: a page ends after a whole group of rows sharing a watermark, so none is split between pages
      const bound = await run(`SELECT ${asText(opts.watermark)} AS b FROM (${body}) AS q WHERE ${past} ${order} LIMIT 1 OFFSET ${n - 1}`, params);
      if (!bound.length) return strip(await run(`${select} WHERE ${past} ${order}`, params));
      return strip(await run(`${select} WHERE ${past} AND ${wm} <= ${ph(params.length + 1)} ${order}`, [...params, bound[0]!.b]));
    },
    async close() {
      const [p, m] = [pgPool, myPool];
      pgPool = undefined;
      myPool = undefined;
      await Promise.all([p?.end().catch(() => undefined), m?.end().catch(() => undefined)]);
    },
  };
  return reader;
}
