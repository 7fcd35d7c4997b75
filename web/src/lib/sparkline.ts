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
 * and the largest value (or `ceiling`, when larger: 1 for shares) `pad`
 * below the top, so a peak's stroke is not clipped. An all-zero series is a
 * flat line on the bottom. A `null` is a gap (a share of nothing): the line
 * breaks there and there is no area under it.
 */
export function sparkline(values: readonly (number | null)[], width: number, height: number, pad = 1.5, ceiling = 0): Sparkline {
  const clean = values.map((v) => (v === null ? null : Number.isFinite(v) && v > 0 ? v : 0));
  const known = clean.filter((v): v is number => v !== null);
  const max = known.reduce((m, v) => Math.max(m, v), 0);
  const total = known.reduce((s, v) => s + v, 0);
  if (clean.length === 0) return { line: '', area: '', max: 0, total: 0 };

  const top = Math.max(max, ceiling);
  const bottom = height - pad;
  const usable = height - 2 * pad;
  const step = clean.length > 1 ? width / (clean.length - 1) : 0;
  const points = clean.map((v, i) => {
    if (v === null) return null;
    const x = clean.length > 1 ? i * step : width / 2;
    const y = top > 0 ? bottom - (v / top) * usable : bottom;
    return [round(x), round(y)] as const;
  });
  if (points.length === 1 && points[0]) {
    // One bucket still deserves a visible mark: draw it as a short dash.
    const [, y] = points[0];
    points.splice(0, 1, [0, y], [round(width), y]);
  }
  // A point between two gaps is a short dash a bucket wide, or it would not show.
  const half = round(step > 0 ? step / 2 : width / 2);
  const isolated = (i: number) => points[i - 1] == null && points[i + 1] == null;
  const line = points
    .map((p, i) => {
      if (p === null) return '';
      if (points.length > 1 && isolated(i)) return `M${Math.max(0, round(p[0] - half))},${p[1]} L${Math.min(round(width), round(p[0] + half))},${p[1]}`;
      return `${i === 0 || points[i - 1] === null ? 'M' : 'L'}${p[0]},${p[1]}`;
    })
    .filter(Boolean)
    .join(' ');
  if (line === '' || points.includes(null)) return { line, area: '', max, total };
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const area = `${line} L${last[0]},${round(height)} L${first[0]},${round(height)} Z`;
  return { line, area, max, total };
}
