import type { RequestOutcome, WriteOp, WriteRequest } from '@tessera/store';

/** An ingest job's write. */
export interface IngestRequest extends WriteRequest {
  /**
   * its job stalled before (its worker may have died applying it): the writer fills no computed
   * column, the version's stage jobs compute them with their guard against rows that kill (see CrashRecords)
   */
  afterStall?: boolean;
}

/** Commits one group of requests (Engine.commitGroup). */
export type CommitGroup = (pipeline: string, table: string, op: WriteOp, requests: IngestRequest[]) => Promise<RequestOutcome[]>;

export interface GroupingOptions {
  /** how long the first request of a group waits for others to join it */
  windowMs: number;
  /**
   * how long it may wait instead while the table's ingest keeps arriving (its last group committed
   * less than this long ago), as long as requests keep joining it within `windowMs` of each other;
   * 0 or at most `windowMs`: always `windowMs`
   */
  busyWindowMs?: number;
  /** a group is committed as soon as it holds this many rows */
  maxRows: number;
}

interface Waiting {
  request: IngestRequest;
  resolve(o: RequestOutcome): void;
  reject(e: unknown): void;
}

/** Requests of one kind for one table, committed together. */
class Group {
  readonly waiting: Waiting[] = [];
  rows = 0;
  /** ready to commit: its window passed, it is full, or a later request of another kind closed it */
  due = false;
  /** no request may join: it is full or a later group exists */
  closed = false;
  timer: NodeJS.Timeout | undefined;
  constructor(readonly op: WriteOp) {}
}

/**
 * Groups the ingest requests a worker process holds into few commits: requests for the same table
 * and of the same kind that arrive within `windowMs` of a group's first one (up to `maxRows`
 * rows) are committed as one version, so versions, job DAGs and export transactions grow with
 * time and volume rather than with the number of producer calls. While a table's ingest keeps
 * arriving (its last group committed less than `busyWindowMs` ago), a group may wait up to
 * `busyWindowMs` instead, as Postgres' commit_delay applies only when other transactions are
 * active: a lone request after a quiet spell waits only `windowMs`, and a stream, where each
 * version's fixed cost (its job DAG, its export) would otherwise be paid every `windowMs` per
 * worker, forms fewer, larger versions (its rows wait behind a backlog anyway). A busy group that
 * no request joined for `windowMs` commits then: the stream paused or ended, and its last rows do
 * not wait out the busy window for requests that are not coming. A table's groups commit one after
 * another in the order their first request arrived, and a request of another kind starts a new
 * group, so requests never overtake each other within a process. Each request is answered on its
 * own (a bad one fails alone); a commit that fails as a whole (the database is down) fails every
 * request of its group that the checks did not refuse already, for their jobs to be retried.
 */
export class CommitGrouper {
  private readonly lanes = new Map<string, { groups: Group[]; running: boolean }>();
  /** when each table's last group finished committing (Date.now()), while that is recent */
  private readonly lastCommitted = new Map<string, number>();

  constructor(
    private readonly commit: CommitGroup,
    private readonly opts: GroupingOptions,
  ) {}

  submit(pipeline: string, table: string, op: WriteOp, request: IngestRequest): Promise<RequestOutcome> {
    const laneKey = JSON.stringify([pipeline, table]);
    let lane = this.lanes.get(laneKey);
    if (!lane) this.lanes.set(laneKey, (lane = { groups: [], running: false }));
    // a group takes requests until its commit starts (a due group waiting behind a running commit
    // still grows), so under load groups get larger rather than more numerous
    let group = lane.groups[lane.groups.length - 1];
    let created = false;
    if (!group || group.op !== op || group.closed) {
      if (group) group.closed = group.due = true; // nothing can join it any more, so it need not wait
      group = new Group(op);
      lane.groups.push(group);
      created = true;
    }
    const outcome = new Promise<RequestOutcome>((resolve, reject) => group.waiting.push({ request, resolve, reject }));
    if (created) this.startWindow(group, pipeline, table, laneKey);
    group.rows += request.rows.length;
    if (group.rows >= this.opts.maxRows) group.closed = group.due = true;
    if (this.opts.windowMs === 0) group.due = true;
    void this.pump(pipeline, table, laneKey);
    return outcome;
  }

  /**
   * Ends the group's wait (see the class comment): at its deadline, or at the first check that finds
   * no request joined since the previous one. Checked once per `windowMs` rather than re-armed per
   * request, so a stream costs a timer per window, not per job.
   */
  private startWindow(g: Group, pipeline: string, table: string, laneKey: string): void {
    const { windowMs } = this.opts;
    const deadline = Date.now() + this.windowFor(laneKey);
    const check = (joined: number) => {
      const left = deadline - Date.now();
      if (left <= 0 || g.waiting.length === joined) {
        g.due = true;
        void this.pump(pipeline, table, laneKey);
        return;
      }
      const now = g.waiting.length;
      g.timer = setTimeout(() => check(now), Math.min(windowMs, left));
    };
    const first = g.waiting.length;
    g.timer = setTimeout(() => check(first), Math.min(windowMs, deadline - Date.now()));
  }

  /** How long a new group of this table waits at most: longer while its ingest keeps arriving. */
  private windowFor(laneKey: string): number {
    const { windowMs, busyWindowMs = 0 } = this.opts;
    if (windowMs === 0 || busyWindowMs <= windowMs) return windowMs;
    const last = this.lastCommitted.get(laneKey);
    if (last === undefined) return windowMs;
    if (Date.now() - last < busyWindowMs) return busyWindowMs;
    this.lastCommitted.delete(laneKey); // a quiet spell: forget it, so the map holds busy tables only
    return windowMs;
  }

  /** Commit the lane's due groups in order, one at a time. */
  private async pump(pipeline: string, table: string, laneKey: string): Promise<void> {
    const lane = this.lanes.get(laneKey);
    if (!lane || lane.running) return;
    lane.running = true;
    try {
      while (lane.groups[0]?.due) {
        const g = lane.groups.shift()!;
        clearTimeout(g.timer);
        try {
          const outcomes = await this.commit(
            pipeline,
            table,
            g.op,
            g.waiting.map((w) => w.request),
          );
          g.waiting.forEach((w, i) => w.resolve(outcomes[i]!));
        } catch (e) {
          g.waiting.forEach((w) => w.reject(e));
        }
        this.lastCommitted.set(laneKey, Date.now());
      }
    } finally {
      lane.running = false;
      if (!lane.groups.length) this.lanes.delete(laneKey);
    }
  }
}
