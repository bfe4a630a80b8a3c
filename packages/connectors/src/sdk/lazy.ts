/**
 * A module loaded on first use. The cloud SDKs, mysql2, Arrow and Parquet take seconds to import
 * under tsx; a worker that never touches S3 or writes a Parquet file should not pay for them at start.
 */
export function lazyModule<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () =>
    (loading ??= load().catch((err: unknown) => {
      loading = undefined; // a failed import (a missing optional package) is tried again next time
      throw err;
    }));
}
