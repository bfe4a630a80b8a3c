/**
 * What scheduled backfills keep in the record: per source its schedule and committed watermark,
 * its runs (with their position, so a run killed halfway resumes), and for listing sources the
 * files seen (key and fingerprint), written in the same transaction as the rows they produced.
 */
export const SOURCE_TABLES = (s: string) => `
  CREATE TABLE IF NOT EXISTS ${s}.sources (
    pipeline text NOT NULL,
    name text NOT NULL,
    table_name text NOT NULL,
    kind text NOT NULL,
    description text NOT NULL,
    schedule jsonb,
    paused boolean NOT NULL DEFAULT false,
    watermark jsonb,
    active_run bigint,
    PRIMARY KEY (pipeline, name)
  );
  CREATE TABLE IF NOT EXISTS ${s}.source_runs (
    id bigserial PRIMARY KEY,
    pipeline text NOT NULL,
    name text NOT NULL,
    trigger text NOT NULL,
    tick text,
    full_scan boolean NOT NULL DEFAULT false,
    status text NOT NULL DEFAULT 'running',
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    from_position jsonb,
    position jsonb,
    pages int NOT NULL DEFAULT 0,
    inserted int NOT NULL DEFAULT 0,
    updated int NOT NULL DEFAULT 0,
    deleted int NOT NULL DEFAULT 0,
    rejected int NOT NULL DEFAULT 0,
    problems jsonb NOT NULL DEFAULT '[]',
    error text,
    owner text
  );
  CREATE INDEX IF NOT EXISTS source_runs_by_source ON ${s}.source_runs (pipeline, name, id DESC);
  CREATE TABLE IF NOT EXISTS ${s}.source_items (
    pipeline text NOT NULL,
    name text NOT NULL,
    key text NOT NULL,
    fingerprint text NOT NULL,
    seen_run bigint NOT NULL,
    row_key jsonb,
    PRIMARY KEY (pipeline, name, key)
  );
`;
