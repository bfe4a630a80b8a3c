/** What the wide-rows pipeline's UDF and iterator were handed, kept on globalThis: the test and the workers it runs in-process may load this module apart. */
export interface WideRowsSeen {
  /** the text each call of the batched UDF was handed, in characters */
  callChars: number[];
  /** rows the calls computed (a row computed twice counts twice) */
  rows: number;
  /** texts the iterator was handed */
  iterated: number;
}

export function seen(): WideRowsSeen {
  const g = globalThis as { __wideRowsSeen?: WideRowsSeen };
  g.__wideRowsSeen ??= { callChars: [], rows: 0, iterated: 0 };
  return g.__wideRowsSeen;
}
