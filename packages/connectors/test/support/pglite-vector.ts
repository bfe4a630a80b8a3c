import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * A real Postgres (PGlite, WASM) with pgvector, served on a local port for `pg` to connect to.
 * Debian bookworm ships no pgvector for the machine's Postgres, so this is where `vector(n)` is tested.
 */
export async function startPgliteWithVector(): Promise<{ url: string; db: PGlite; stop(): Promise<void> }> {
  const db = await PGlite.create({ extensions: { vector } });
  await db.exec('create extension if not exists vector');
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1' });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres?sslmode=disable`,
    db,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
