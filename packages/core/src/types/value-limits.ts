/**
 * Bounds on a single value, so one hostile or broken value is a clear error instead of memory
 * exhaustion or a rejected SQL statement. Set once per process from the configuration
 * (TESSERA_MAX_VALUE_BYTES, TESSERA_MAX_JSON_DEPTH; the runtime applies them on connect).
 */
export interface ValueLimits {
  /** largest string, JSON value or array, in bytes (roughly, as stored) */
  maxValueBytes: number;
  /** deepest nesting of a JSON value */
  maxJsonDepth: number;
}

const limits: ValueLimits = { maxValueBytes: 16 * 1024 * 1024, maxJsonDepth: 64 };

export function setValueLimits(l: Partial<ValueLimits>): void {
  Object.assign(limits, Object.fromEntries(Object.entries(l).filter(([, v]) => v !== undefined)));
}

export function valueLimits(): Readonly<ValueLimits> {
  return limits;
}
