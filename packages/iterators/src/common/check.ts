/**
 * Parameter checks shared by the iterators. They throw plain Errors: `apply` prefixes the
 * pipeline, view and iterator name, so the message only says what is wrong with which parameter.
 */
export function checkObject(params: unknown, iterator: string): Record<string, unknown> {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw new Error(`${iterator} parameters must be an object`);
  }
  return params as Record<string, unknown>;
}

export function checkKnownKeys(params: Record<string, unknown>, known: readonly string[]): void {
  for (const k of Object.keys(params)) {
    if (params[k] !== undefined && !known.includes(k)) throw new Error(`unknown parameter "${k}" (known: ${known.join(', ')})`);
  }
}

export function checkPositiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

export function checkNonNegativeInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${name} must be an integer >= 0, got ${JSON.stringify(v)}`);
  return v;
}

export function checkPositiveNumber(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a number > 0, got ${JSON.stringify(v)}`);
  return v;
}

export function checkNonNegativeNumber(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`${name} must be a number >= 0, got ${JSON.stringify(v)}`);
  return v;
}

export function checkOneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) {
    throw new Error(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}
