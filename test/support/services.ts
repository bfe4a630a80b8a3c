/**
 * Where the shared services the tests use are: written once here, each overridable from the
 * environment (the older variable names still work, so a machine set up for them keeps working).
 */
const fromEnv = (names: string[], fallback: string): string => names.map((n) => process.env[n]).find(Boolean) ?? fallback;

/** Postgres: Tessera's record, and "the customer's" export target and SQL source (trust auth, db `test`). */
export const PG_URL = fromEnv(['TESSERA_TEST_PG_URL', 'TESSERA_TEST_DATABASE_URL', 'TEST_PG_URL'], 'postgres://postgres@127.0.0.1:5432/test');
/** MariaDB: the MySQL-protocol export target and SQL source (root, no password, db `test`). */
export const MYSQL_URL = fromEnv(['TESSERA_TEST_MYSQL_URL', 'TEST_MYSQL_URL'], 'mysql://root@127.0.0.1:3306/test');
/** A MariaDB with VECTOR support (11.7+), where there is one (scripts/start-mariadb-vector.sh). */
export const MYSQL_VECTOR_URL = fromEnv(['TESSERA_TEST_MYSQL_VECTOR_URL', 'TEST_MYSQL_VECTOR_URL'], 'mysql://root@127.0.0.1:3307/test');
/** Redis: queues, limiter buckets and the tests' call counters. */
export const REDIS_URL = fromEnv(['TESSERA_TEST_REDIS_URL'], 'redis://127.0.0.1:6379');

/** The same URL on another port: a TCP proxy in front of the service, or a port nothing listens on. */
export function onPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}

/** The same URL with a password (trust authentication carries it but never checks it). */
export function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

/** The service's own port, as a proxy in front of it needs it. */
export const portOf = (url: string): number => Number(new URL(url).port);

/** The OpenAI-compatible test server a test started (test/support/openai-server); without one, a port nothing answers on. */
export const openaiTestUrl = (): string => process.env.TESSERA_TEST_OPENAI_URL ?? 'http://127.0.0.1:9/v1';
