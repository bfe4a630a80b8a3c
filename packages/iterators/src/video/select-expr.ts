/**
 * An ffmpeg `select` expression true exactly for the given ascending values of `variable`
 * (`pts` or `n`). A list of `eq()` terms would cost O(selected) per decoded frame (7,200 terms on
 * 216,000 frames for 2 hours at 1 fps); a balanced if/lt tree costs O(log selected). `if` in
 * libavutil's evaluator only evaluates the branch it takes.
 */
export function selectExpression(variable: 'pts' | 'n', values: readonly number[]): string {
  if (values.length === 0) return '0';
  const build = (lo: number, hi: number): string => {
    if (hi - lo === 1) return `eq(${variable},${values[lo]})`;
    const mid = (lo + hi) >>> 1;
    return `if(lt(${variable},${values[mid]}),${build(lo, mid)},${build(mid, hi)})`;
  };
  return build(0, values.length);
}
