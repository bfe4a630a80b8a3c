/** Weighted events in a trailing window: the server's own RPM / TPM enforcement. */
export class SlidingWindow {
  private events: Array<{ t: number; w: number }> = [];
  constructor(
    readonly windowMs: number,
    /** allowed total weight per window */
    readonly capacity: number,
  ) {}

  private prune(now: number) {
    const from = now - this.windowMs;
    let i = 0;
    while (i < this.events.length && this.events[i]!.t <= from) i++;
    if (i) this.events.splice(0, i);
  }

  used(now: number): number {
    this.prune(now);
    return this.events.reduce((s, e) => s + e.w, 0);
  }

  /** ms until `weight` more would fit (0 when it fits now). A weight above capacity fits into an empty window. */
  waitFor(weight: number, now: number): number {
    this.prune(now);
    let used = this.used(now);
    const need = Math.min(weight, this.capacity);
    if (used + need <= this.capacity) return 0;
    for (const e of this.events) {
      used -= e.w;
      if (used + need <= this.capacity) return Math.max(1, e.t + this.windowMs - now);
    }
    return this.windowMs;
  }

  add(weight: number, now: number): { t: number; w: number } {
    const e = { t: now, w: weight };
    this.events.push(e);
    return e;
  }
}

/** The largest number of timestamps within any window of `windowMs` (a sliding count). */
export function maxInAnyWindow(times: readonly number[], windowMs: number): number {
  const ts = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < ts.length; hi++) {
    while (ts[hi]! - ts[lo]! >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}
