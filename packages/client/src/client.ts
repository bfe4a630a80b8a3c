import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { INGEST_QUEUE, MAX_ROWS_PER_REQUEST, type IngestPayload } from './ingest-payload';
import type { TableSender, WritableRef } from './typed-table';

export interface TesseraClientOptions {
  /** the fleet's Redis (TESSERA_REDIS_URL), default redis://127.0.0.1:6379 */
  redisUrl?: string;
  /** the fleet's BullMQ key prefix (TESSERA_QUEUE_PREFIX), default `tessera` */
  prefix?: string;
}

export interface SendOptions {
  /** idempotency key: the same request sent twice applies once */
  requestId?: string;
  /** resolve only when a worker has committed the rows (or reject with its reason) */
  wait?: boolean;
  /** how long `wait` waits, default 60 s */
  timeoutMs?: number;
}

export interface SendResult {
  jobId: string;
  /** what the worker returned, when `wait` was set */
  result?: unknown;
}

/**
 * The producer side of Tessera for an application: sends rows to a pipeline's table through the
 * fleet's `ingest` queue. Needs only Redis; the workers validate, commit and compute.
 */
export class TesseraClient {
  private readonly queue: Queue;
  private events: Promise<QueueEvents> | undefined;
  /** BullMQ leaves connections it is given open: the client closes its own */
  private readonly connections: Redis[] = [];

  constructor(private readonly options: TesseraClientOptions = {}) {
    this.queue = new Queue(INGEST_QUEUE, { connection: this.connection(), prefix: options.prefix ?? 'tessera' });
  }

  /**
   * A table's typed sends: `client.table(pipeline.docs).insert([...])`, the handle being one the
   * pipeline's `definePipeline` returned; rows are typed by its declaration.
   */
  table<H extends WritableRef>(handle: H): TableSender<H> {
    const pipeline = handle['~pipeline'];
    const table = handle.name;
    return {
      pipeline,
      table,
      insert: (rows, opts) => this.insert(pipeline, table, rows, opts),
      update: (rows, opts) => this.update(pipeline, table, rows, opts),
      upsert: (rows, opts) => this.upsert(pipeline, table, rows, opts),
      delete: (keys, opts) => this.delete(pipeline, table, keys, opts),
    };
  }

  insert(pipeline: string, table: string, rows: Record<string, unknown>[], opts?: SendOptions): Promise<SendResult> {
    return this.send({ pipeline, table, op: 'insert', rows }, opts);
  }

  /** rows carry the primary key and the columns to change */
  update(pipeline: string, table: string, rows: Record<string, unknown>[], opts?: SendOptions): Promise<SendResult> {
    return this.send({ pipeline, table, op: 'update', rows }, opts);
  }

  /** rows whose key is new are inserted, the others updated */
  upsert(pipeline: string, table: string, rows: Record<string, unknown>[], opts?: SendOptions): Promise<SendResult> {
    return this.send({ pipeline, table, op: 'upsert', rows }, opts);
  }

  /** rows carry the primary key */
  delete(pipeline: string, table: string, rows: Record<string, unknown>[], opts?: SendOptions): Promise<SendResult> {
    return this.send({ pipeline, table, op: 'delete', rows }, opts);
  }

  async send(payload: IngestPayload, opts: SendOptions = {}): Promise<SendResult> {
    if (!payload.rows.length) throw new Error(`${payload.pipeline}.${payload.table}: no rows to ${payload.op}`);
    if (payload.rows.length > MAX_ROWS_PER_REQUEST) {
      throw new Error(`${payload.pipeline}.${payload.table}: ${payload.rows.length} rows in one request; send at most ${MAX_ROWS_PER_REQUEST}`);
    }
    const data: IngestPayload = opts.requestId ? { ...payload, requestId: opts.requestId } : payload;
    // listening before the job exists, so its completion cannot be missed
    const events = opts.wait ? await (this.events ??= this.listen()) : undefined;
    const job = await this.queue.add(payload.op, data, { removeOnComplete: 1000, removeOnFail: 5000 });
    if (!events) return { jobId: job.id! };
    const result: unknown = await job.waitUntilFinished(events, opts.timeoutMs ?? 60_000);
    return { jobId: job.id!, result };
  }

  async close(): Promise<void> {
    await (await this.events?.catch(() => undefined))?.close();
    await this.queue.close();
    this.connections.forEach((c) => c.disconnect());
  }

  private async listen(): Promise<QueueEvents> {
    const events = new QueueEvents(INGEST_QUEUE, { connection: this.connection(), prefix: this.options.prefix ?? 'tessera' });
    await events.waitUntilReady();
    return events;
  }

  private connection(): Redis {
    const c = new Redis(this.options.redisUrl ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
    this.connections.push(c);
    return c;
  }
}
