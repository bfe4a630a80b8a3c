/** What a finished (or skipped) source run reports: for logs and metrics (`onSourceRun`). */
export interface SourceRunReport {
  pipeline: string;
  source: string;
  /** null when the run was skipped before starting */
  runId: number | null;
  status: 'done' | 'failed' | 'skipped';
  trigger: string;
  /** a run that went on from where a killed one stopped */
  resumed: boolean;
  pages: number;
  inserted: number;
  updated: number;
  deleted: number;
  rejected: number;
  durationMs: number;
  error?: string;
}

type Listener = (report: SourceRunReport) => void;
const listeners = new Set<Listener>();

/** Be told of every source run this process makes (counts, duration, outcome); returns an unsubscribe function. */
export function onSourceRun(listener: Listener): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

export function emitSourceRun(report: SourceRunReport): void {
  for (const l of listeners) {
    try {
      l(report);
    } catch {
      // a listener's failure is its own
    }
  }
}
