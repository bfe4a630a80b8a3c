/**
 * A UDF call that gave no result within its deadline: its cell fails with this, and the job goes on
 * (the call is abandoned, its result dropped if it ever comes). A promise that never settles (a
 * request to a host that accepts and never answers, a lock never released) would otherwise hold its
 * job, and leave its cell pending, for ever: the job's lock is renewed all the while.
 */
export class UdfTimeoutError extends Error {
  override readonly name = 'UdfTimeout';
}

/** `pending` as it settles, or UdfTimeoutError after `ms` (0: no deadline). */
export function withDeadline<T>(pending: PromiseLike<T>, ms: number, what: () => string): Promise<T> {
  if (!ms) return Promise.resolve(pending);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new UdfTimeoutError(`${what()} gave no result in ${ms} ms (its deadline: the UDF's timeoutMs, else TESSERA_UDF_TIMEOUT_MS)`)),
      ms,
    );
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
