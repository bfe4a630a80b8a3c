/**
 * Rate and ETA of each column from the counts the dashboard has seen: cells done per second over
 * the last minute of samples, and the pending cells divided by that rate.
 */
export class ProgressTracker {
  private readonly samples = new Map<string, Array<{ at: number; done: number }>>();

  constructor(private readonly windowMs = 60_000) {}

  observe(key: string, done: number, pending: number, now = Date.now()): { rate: number | null; etaSeconds: number | null } {
    const list = this.samples.get(key) ?? [];
    list.push({ at: now, done });
    while (list.length > 2 && now - list[0]!.at > this.windowMs) list.shift();
    this.samples.set(key, list);
    const first = list[0]!;
    const seconds = (now - first.at) / 1000;
    if (seconds <= 0 || done < first.done) return { rate: null, etaSeconds: null };
    const rate = (done - first.done) / seconds;
    return { rate, etaSeconds: pending === 0 ? 0 : rate > 0 ? pending / rate : null };
  }
}
