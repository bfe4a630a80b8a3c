import { TransientError, type ExportSchema } from '@tessera/core';
import { asSqlError } from '../sql/transient';

/** How one SQL sink reaches its database and works out its plan for a schema (Postgres, MySQL). */
export interface SqlDriverIo<Pool, C, P> {
  /** redacted URL + table, for messages */
  target: string;
  /** a new pool (opened on first use, and again after close: a worker pool restarted in the same process) */
  open(): Pool | Promise<Pool>;
  end(pool: Pool): Promise<void>;
  /** a connection from the pool */
  acquire(pool: Pool): Promise<C>;
  /** give it back; `broken` after a failure, so the pool may drop it */
  release(c: C, broken: boolean): void;
  /** check or create the target table for this schema and plan the statements */
  describe(c: C, schema: ExportSchema): Promise<P>;
}

const signature = (schema: ExportSchema) => JSON.stringify([schema.columns, schema.key]);

/**
 * The connection and plan handling the SQL sinks share: connection failures become transient errors
 * naming the target, and a plan is worked out once per schema shape, dropped after a failure that is
 * not transient (so the next try checks the target again: it may have been altered).
 */
export class SqlConnections<Pool, C, P> {
  private readonly plans = new Map<string, P>();
  private pool?: Promise<Pool>;

  constructor(private readonly io: SqlDriverIo<Pool, C, P>) {}

  private opened(): Promise<Pool> {
    if (!this.pool) {
      const p = (async () => this.io.open())();
      this.pool = p;
      // a pool that could not be opened (the driver missing) is tried again by the next call
      p.catch(() => {
        if (this.pool === p) this.pool = undefined;
      });
    }
    return this.pool;
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    const opened = await pool?.catch(() => undefined);
    if (opened) await this.io.end(opened);
  }

  /** The plan for this schema; a prepare that failed (target down) is retried by the next call. */
  async plan(schema: ExportSchema): Promise<P> {
    const sig = signature(schema);
    const hit = this.plans.get(sig);
    if (hit) return hit;
    const p = await this.withClient((c) => this.io.describe(c, schema));
    this.plans.set(sig, p);
    return p;
  }

  /** Run against a prepared plan; a failure other than a transient one drops the plan. */
  async withPlan<T>(schema: ExportSchema, fn: (c: C) => Promise<T>): Promise<T> {
    try {
      return await this.withClient(fn);
    } catch (err) {
      if (!(err instanceof TransientError)) this.plans.delete(signature(schema));
      throw err;
    }
  }

  async withClient<T>(fn: (c: C) => Promise<T>): Promise<T> {
    let c: C;
    try {
      c = await this.io.acquire(await this.opened());
    } catch (err) {
      throw asSqlError(err, this.io.target);
    }
    let broken = false;
    try {
      return await fn(c);
    } catch (err) {
      broken = true;
      throw asSqlError(err, this.io.target);
    } finally {
      this.io.release(c, broken);
    }
  }
}

/** The options the Postgres and MySQL sinks share. */
export interface SqlSinkOptions {
  /** connection URL (credentials in it are never logged) */
  url: string;
  table: string;
  /** create the table when it does not exist (otherwise it must exist and fit); also adds exported columns it lacks */
  create?: boolean;
  /** add exported columns the table lacks, with ALTER TABLE (default: as `create`) */
  addColumns?: boolean;
  /** drop the target's columns that are not exported (opt-in, default false: it deletes the customer's data) */
  dropColumns?: boolean;
  /** name in the catalog and on the CLI */
  name?: string;
  /** pool size (default 2) */
  maxConnections?: number;
}

/** What the target-table planners of both sinks are told. */
export interface SqlTargetOptions {
  table: string;
  /** sink name, for messages */
  name: string;
  /** redacted URL + table, for messages */
  target: string;
  create?: boolean;
  /** add exported columns the table lacks (default: as `create`) */
  addColumns?: boolean;
  /** drop the table's columns that are not exported (opt-in: it deletes data) */
  dropColumns?: boolean;
}
