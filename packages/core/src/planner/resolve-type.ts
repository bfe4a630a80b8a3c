import { isAssignable, describeType, type TypeSpec } from '../types/column-type';
import type { ExprNode } from '../expr/expr';
import type { Udf } from '../udf/udf';
import { validateValue } from '../types/validate-value';

/**
 * Check an expression tree against the column types it reads and the UDF signatures it calls.
 * Returns the problem as a sentence, or null when it type-checks. This repeats at `apply` what
 * TypeScript checks at compile time, for pipelines written in plain JS or built dynamically.
 */
export function checkExpr(node: ExprNode, columnType: (name: string) => TypeSpec | undefined, udfs: ReadonlyMap<string, Udf>): string | null {
  const typeOf = (n: ExprNode): TypeSpec | string | null => {
    switch (n.op) {
      case 'column': {
        const t = columnType(n.column);
        return t ?? `unknown column ${n.column}`;
      }
      case 'literal':
        return null;
      case 'path': {
        const base = typeOf(n.base);
        if (typeof base === 'string') return base;
        if (base && base.kind !== 'json') return `JSON path access on a ${base.kind} column`;
        return { kind: 'json', nullable: true, primaryKey: false };
      }
      case 'call': {
        const udf = udfs.get(`${n.udf}@${n.version}`);
        if (!udf) return `unknown UDF ${n.udf}@${n.version}`;
        const params = udf.spec.params;
        if (n.args.length !== params.length) return `${n.udf} takes ${params.length} argument(s), got ${n.args.length}`;
        for (let i = 0; i < params.length; i++) {
          const arg = n.args[i]!;
          if (arg.op === 'literal') {
            // a constant argument is checked now rather than failing every cell later
            try {
              validateValue(`${n.udf} argument ${i + 1}`, params[i]!, arg.value);
            } catch (e) {
              return (e as Error).message;
            }
            continue;
          }
          const a = typeOf(arg);
          if (typeof a === 'string') return a;
          if (a && !isAssignable(a, params[i]!.spec)) {
            return `${n.udf} argument ${i + 1} wants ${describeType({ ...params[i]!.spec, nullable: false })}, got ${describeType({ ...a, nullable: false })}`;
          }
        }
        return udf.spec.returns.spec;
      }
    }
  };
  const r = typeOf(node);
  return typeof r === 'string' ? r : null;
}
