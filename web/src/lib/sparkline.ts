// SVG path data for the 24-hour trend column in the issues list. Kept pure
// so the geometry can be tested without a DOM.

export interface Sparkline {
  /** Path for the stroke. */
  line: string;
  /** Closed path under the line, for a faint fill. */
  area: string;
  /** Largest value, used for the tooltip and to scale. */
  max: number;
  total: number;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * Lays `values` out left to right across `width`, with 0 on the bottom edge
 * and the largest value `pad` below the top, so a peak's stroke is not
 * clipped. An all-zero series is a flat line on the bottom.
 */
export function sparkline(values: readonly number[], width: number, height: number, pad = 1.5): Sparkline {
  const clean = values.map((v) => (Number.isFinite(v) && v > 0 ? v : 0));
  const max = clean.reduce((m, v) => Math.max(m, v), 0);
  const total = clean.reduce((s, v) => s + v, 0);
  if (clean.length === 0) return { line: '', area: '', max: 0, total: 0 };

  const bottom = height - pad;
  const usable = height - 2 * pad;
  const step = clean.length > 1 ? width / (clean.length - 1) : 0;
  const points = clean.map((v, i) => {
    const x = clean.length > 1 ? i * step : width / 2;
    const y = max > 0 ? bottom - (v / max) * usable : bottom;
    return [round(x), round(y)] as const;
  });
  if (points.length === 1) {
    // One bucket still deserves a visible mark: draw it as a short dash.
    const [, y] = points[0]!;
    points.splice(0, 1, [0, y], [round(width), y]);
  }
  const line = points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x},${y}`).join(' ');
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const area = `${line} L${last[0]},${round(height)} L${first[0]},${round(height)} Z`;
  return { line, area, max, total };
}
