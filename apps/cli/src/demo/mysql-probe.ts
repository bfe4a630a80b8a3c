import { quoteMy } from '@tessera/connectors';

/**
 * Is a MySQL or MariaDB server there? Connects and runs `SELECT VERSION()` (3 s at most), so the main
 * job exports to MySQL when it can and says why not when it cannot.
 */
export async function probeMysql(url: string): Promise<{ ok: true; version: string } | { ok: false; reason: string }> {
  const { default: mysql } = await import('mysql2/promise');
  try {
    const c = await mysql.createConnection({ uri: url, connectTimeout: 3000 });
    try {
      const [rows] = await c.query<import('mysql2/promise').RowDataPacket[]>('SELECT VERSION() AS v');
      return { ok: true, version: String(rows[0]?.v) };
    } finally {
      await c.end();
    }
  } catch (e) {
    return { ok: false, reason: (e as Error).message || String((e as { code?: string }).code) };
  }
}

/** Row counts of MySQL tables (null for a table that is not there). */
export async function mysqlCounts(url: string, tables: string[]): Promise<Record<string, number | null>> {
  const { default: mysql } = await import('mysql2/promise');
  const c = await mysql.createConnection({ uri: url, connectTimeout: 3000 });
  try {
    const out: Record<string, number | null> = {};
    for (const t of tables) {
      const [rows] = await c.query<import('mysql2/promise').RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${quoteMy(t)}`).catch(() => [[{ n: null }]] as never);
      out[t] = rows[0]?.n === null ? null : Number(rows[0]?.n);
    }
    return out;
  } finally {
    await c.end();
  }
}
