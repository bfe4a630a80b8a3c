/**
 * A UDF call that gave no result within its deadline: its cell fails with this, and the job goes on
 * (the call is abandoned, its result dropped if it ever comes). A promise that never settles (a
 * request to a host that accepts and never answers, a lock never released) would otherwise hold its
 * job, and leave its cell pending, for ever: the job's lock is renewed all the while.
 */
export class UdfTimeoutError extends Error {
  override readonly name = 'UdfTimeout';
}

/** An iterator that yielded no row within its deadline: its row's iteration fails with this. */
export class IteratorTimeoutError extends Error {
  override readonly name = 'IteratorTimeout';
}

/** `pending` as it settles, or the error `late()` makes after `ms` (0: no deadline). */
export function withDeadline<T>(pending: PromiseLike<T>, ms: number, late: () => Error): Promise<T> {
  if (!ms) return Promise.resolve(pending);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(late()), ms);
    // the deadline never keeps a process alive on its own
    timer.unref?.();
    pending.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** The UdfTimeoutError of a call to `what`. */
export const udfTimeout = (what: string, ms: number) => () =>
  new UdfTimeoutError(`${what} gave no result in ${ms} ms (its deadline: the UDF's timeoutMs, else TESSERA_UDF_TIMEOUT_MS)`);
