import type pg from 'pg';
import type mysql from 'mysql2/promise';
import { connectMysql, connectPg } from './clients';
import { MYSQL_URL, PG_URL, onPort, portOf } from './services';
import { freePort, startTcpProxy } from './tcp-proxy';

type Target = 'pg' | 'mysql';

/** The customer's Postgres and MariaDB as test/pipelines/exporting-flaky reaches them: through proxies a test can take down. */
export interface FlakyTargets {
  /** the export's name: the Postgres schema `<name>` and the MariaDB table `<name>_notes` */
  name: string;
  pgDb: pg.Client;
  myDb: mysql.Connection;
  /** open the proxies that are closed */
  up(): Promise<void>;
  /** close the proxies (all, or one target's), dropping their open connections */
  down(only?: Target): Promise<void>;
  /** close everything and drop what the exports made */
  close(): Promise<void>;
}

/**
 * Proxies in front of both export targets, on free ports, named in the environment the
 * exporting-flaky pipeline reads (TESSERA_TEST_FLAKY_*): set up before the pipeline is loaded.
 * The test's own clients (`pgDb`, `myDb`) connect directly, so they see the targets while the
 * fleet cannot.
 */
export async function flakyTargets(name: string): Promise<FlakyTargets> {
  const ports: Record<Target, number> = { pg: await freePort(), mysql: await freePort() };
  const upstream: Record<Target, number> = { pg: portOf(PG_URL), mysql: portOf(MYSQL_URL) };
  const open = new Map<Target, { close(): Promise<void> }>();
  const up = async () => {
    for (const t of ['pg', 'mysql'] as const) if (!open.has(t)) open.set(t, await startTcpProxy(ports[t], upstream[t]));
  };
  const down = async (only?: Target) => {
    for (const [t, proxy] of [...open]) {
      if (only && t !== only) continue;
      await proxy.close();
      open.delete(t);
    }
  };
  await up();
  process.env.TESSERA_TEST_FLAKY_NAME = name;
  process.env.TESSERA_TEST_FLAKY_PG_URL = onPort(PG_URL, ports.pg);
  process.env.TESSERA_TEST_FLAKY_MY_URL = onPort(MYSQL_URL, ports.mysql);
  const pgDb = await connectPg();
  const myDb = await connectMysql();
  return {
    name,
    pgDb,
    myDb,
    up,
    down,
    async close() {
      await down();
      await pgDb.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      await pgDb.end();
      await myDb.query(`DROP TABLE IF EXISTS \`${name}_notes\``);
      await myDb.end();
    },
  };
}
