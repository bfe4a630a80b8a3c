import type pg from 'pg';
import { ident } from './sql';
import { SOURCE_TABLES } from './sources/source-tables';

/**
 * The catalog: tables and views, their columns (with computed expressions and the UDF versions
 * they were computed with), and the version history. Idempotent; guarded by an advisory lock so
 * several processes starting at once do not race.
 */
export async function migrate(pool: pg.Pool, schema: string): Promise<void> {
  const s = ident(schema);
  const c = await pool.connect();
  try {
    await c.query('SELECT pg_advisory_lock(hashtext($1))', [`tessera-migrate:${schema}`]);
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await c.query(`
      -- this record's identity: one queue prefix in Redis serves one record (see the runtime's queue-owner)
      CREATE TABLE IF NOT EXISTS ${s}.record (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        created_at timestamptz NOT NULL DEFAULT now()
      );
      INSERT INTO ${s}.record DEFAULT VALUES ON CONFLICT DO NOTHING;
      CREATE TABLE IF NOT EXISTS ${s}.pipelines (
        name text PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE IF NOT EXISTS ${s}.tables (
        id serial PRIMARY KEY,
        pipeline text NOT NULL REFERENCES ${s}.pipelines(name),
        name text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('table', 'view')),
        base_id int REFERENCES ${s}.tables(id),
        iterator jsonb,
        stages jsonb NOT NULL DEFAULT '[]',
        physical text NOT NULL,
        version int NOT NULL DEFAULT 0,
        UNIQUE (pipeline, name)
      );
      CREATE TABLE IF NOT EXISTS ${s}.columns (
        table_id int NOT NULL REFERENCES ${s}.tables(id) ON DELETE CASCADE,
        name text NOT NULL,
        position int NOT NULL,
        type jsonb NOT NULL,
        computed jsonb,
        added_version int NOT NULL,
        PRIMARY KEY (table_id, name)
      );
      CREATE TABLE IF NOT EXISTS ${s}.versions (
        table_id int NOT NULL REFERENCES ${s}.tables(id) ON DELETE CASCADE,
        version int NOT NULL,
        kind text NOT NULL,
        detail text,
        inserts int NOT NULL DEFAULT 0,
        updates int NOT NULL DEFAULT 0,
        deletes int NOT NULL DEFAULT 0,
        aborted text,
        request_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (table_id, version),
        UNIQUE (table_id, request_id)
      );
      -- one row per export of a table: where its shipping stands (see exports.ts)
      CREATE TABLE IF NOT EXISTS ${s}.exports (
        table_id int NOT NULL REFERENCES ${s}.tables(id) ON DELETE CASCADE,
        sink text NOT NULL,
        signature jsonb,
        seq bigint NOT NULL DEFAULT 0,
        needs_full boolean NOT NULL DEFAULT true,
        state text NOT NULL DEFAULT 'new',
        reason text,
        held int NOT NULL DEFAULT 0,
        shipped_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (table_id, sink)
      );
      -- the write requests (producer calls) each version holds: one version may hold many, each
      -- with its own idempotency key and a digest of what it wrote, to tell a retry from a reuse
      -- (none for a key that names its payload, a queue job's own id: only a retry repeats it)
      -- (no foreign key to tables: its check costs a lookup per request, a third of the insert, on
      -- the commit's critical path; table_id comes from the row the commit holds locked)
      CREATE TABLE IF NOT EXISTS ${s}.requests (
        table_id int NOT NULL,
        request_id text NOT NULL,
        version int NOT NULL,
        op text NOT NULL,
        count int NOT NULL,
        digest text,
        pos int NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (table_id, request_id)
      );
      -- when a write's work was handed to the queues: a retried request re-enqueues only a version whose
      -- writer died between commit and enqueue, rather than exporting it again
      ALTER TABLE ${s}.versions ADD COLUMN IF NOT EXISTS enqueued_at timestamptz;
      CREATE INDEX IF NOT EXISTS requests_version ON ${s}.requests (table_id, version);
      -- only when needed: the ALTER locks the table against every commit, and workers run this at start
      DO $$ DECLARE fk record; BEGIN
        IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '${s}.requests'::regclass AND attname = 'digest' AND attnotnull) THEN
          ALTER TABLE ${s}.requests ALTER COLUMN digest DROP NOT NULL;
        END IF;
        FOR fk IN SELECT conname FROM pg_constraint WHERE conrelid = '${s}.requests'::regclass AND contype = 'f' LOOP
          EXECUTE format('ALTER TABLE ${s}.requests DROP CONSTRAINT %I', fk.conname);
        END LOOP;
      END $$;
      CREATE TABLE IF NOT EXISTS ${s}.usage (
        table_id int NOT NULL REFERENCES ${s}.tables(id) ON DELETE CASCADE,
        column_name text NOT NULL,
        counter text NOT NULL,
        amount bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (table_id, column_name, counter)
      );
      -- answered model calls, keyed by model + parameters + input content hash (see response-cache.ts)
      CREATE TABLE IF NOT EXISTS ${s}.response_cache (
        key text PRIMARY KEY,
        value jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      -- the oldest answers, for the periodic tick to forget (TESSERA_RESPONSE_CACHE_KEEP_HOURS)
      CREATE INDEX IF NOT EXISTS response_cache_created ON ${s}.response_cache (created_at);
      -- when a version's finalize shipped it to the exports: one lost with Redis (or given up) is
      -- found by the periodic reconcile (versions written before this column counted as shipped)
      ALTER TABLE ${s}.versions ADD COLUMN IF NOT EXISTS shipped_at timestamptz DEFAULT now();
      ALTER TABLE ${s}.versions ALTER COLUMN shipped_at DROP DEFAULT;
      CREATE INDEX IF NOT EXISTS versions_unshipped ON ${s}.versions (table_id) WHERE shipped_at IS NULL;
      -- its finalize knew no cell of its rows was left for workers (its commit filled them all, or
      -- it has none): a writer waiting on it need not read its rows (see Engine.waitVersion)
      ALTER TABLE ${s}.versions ADD COLUMN IF NOT EXISTS nothing_left boolean NOT NULL DEFAULT false;
      -- ships of the export begun and never ended (their worker process died mid-ship): see ship-deaths.ts
      ALTER TABLE ${s}.exports ADD COLUMN IF NOT EXISTS unfinished int NOT NULL DEFAULT 0;
      -- the version at which the periodic reconcile last found a table with no pending cell
      CREATE TABLE IF NOT EXISTS ${s}.reconciled (
        table_id int PRIMARY KEY REFERENCES ${s}.tables(id) ON DELETE CASCADE,
        version int NOT NULL,
        signature text NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
      );
    `);
    await c.query(SOURCE_TABLES(s));
  } finally {
    await c.query('SELECT pg_advisory_unlock(hashtext($1))', [`tessera-migrate:${schema}`]).catch(() => {});
    c.release();
  }
}
