import { nearestFrames, selectFrames } from '../src/video/frame-selection';
import { selectExpression } from '../src/video/select-expr';
import { audioGrid, durationForSize } from '../src/audio/audio-grid';
import { tileCount } from '../src/image/tile-params';

/** Compile a generated select expression the way libavutil evaluates it (lazy if, 0/1 results). */
function compile(expr: string, variable: string): (value: number) => number {
  const fn = new Function(variable, 'IF', 'lt', 'eq', `return ${expr.replaceAll('if(', 'IF(')};`);
  const IF = (c: number, a: number, b: number) => (c ? a : b);
  const lt = (a: number, b: number) => (a < b ? 1 : 0);
  const eq = (a: number, b: number) => (a === b ? 1 : 0);
  return (value) => fn(value, IF, lt, eq);
}

describe('select expression', () => {
  test('true exactly for the listed values, for a few and for 2,000 of them', () => {
    for (const values of [[5], [0, 30, 60], Array.from({ length: 2000 }, (_, k) => k * 15360 + 512)]) {
      const expr = selectExpression('pts', values);
      const selects = compile(expr, 'pts');
      const chosen = new Set(values);
      const probes = [...values, ...values.map((v) => v + 1), ...values.map((v) => v - 1), -1, 1e12];
      expect(probes.filter((p) => selects(p) === 1)).toEqual(probes.filter((p) => chosen.has(p)));
      // balanced: nesting depth grows with log2 of the count (libavutil's parser has a depth limit)
      expect(expr.split('if(').length - 1).toBe(values.length - 1);
    }
  });

  test('an empty selection selects nothing', () => {
    expect(selectExpression('n', [])).toBe('0');
  });
});

describe('nearest-frame selection', () => {
  const times = Float64Array.from([0, 0.1, 0.2, 0.35, 0.5]);
  test('each target takes the nearest frame, ties to the earlier, no repeats', () => {
    // 0.05 is a tie between 0 and 0.1 (-> 0); 0.275 a tie between 0.2 and 0.35 (-> 0.2); 0.35 is nobody's nearest
    expect(nearestFrames(times, [0, 0.04, 0.05, 0.06, 0.275, 0.44, 10])).toEqual([0, 1, 2, 4]);
  });

  test('fps without a stated duration covers up to the end of the last frame', () => {
    const tl = { times: Float64Array.from({ length: 10 }, (_, i) => i / 10), key: new Uint8Array(10), frameRate: 10 };
    // span 1.0 s: targets 0, 0.25, 0.5, 0.75
    expect(selectFrames({ kind: 'fps', fps: 4 }, tl)).toEqual([0, 2, 5, 7]);
    expect(selectFrames({ kind: 'fps', fps: 10 }, tl)).toBe('all');
  });

  test('the fps grid does not drift over two hours', () => {
    const n = 216_000; // 2 h at 30 fps
    const tl = { times: Float64Array.from({ length: n }, (_, i) => i / 30), key: new Uint8Array(n), frameRate: 30, duration: 7200 };
    const picked = selectFrames({ kind: 'fps', fps: 1 }, tl) as number[];
    expect(picked).toHaveLength(7200);
    expect(picked.every((f, k) => f === 30 * k)).toBe(true);
  });
});

describe('grid helpers', () => {
  test('audio maxSize gives whole milliseconds that leave 5% for the container', () => {
    expect(durationForSize(100_000, 32_000, 0)).toBe(2.968);
    expect(durationForSize(100_000, 32_000, 0.5)).toBe(2.468);
    expect(audioGrid(1, 3, 0, 0)).toEqual([{ start: 0, end: 1 }]);
    expect(audioGrid(1, 3, 0, 2)).toEqual([]);
  });

  test('tile counts', () => {
    expect([tileCount(100, 32, 0), tileCount(70, 32, 0), tileCount(100, 50, 10), tileCount(5, 32, 0), tileCount(8, 10, 9)]).toEqual([4, 3, 3, 1, 1]);
  });
});
