// Number formatting for dense tables: counts stay short, ratios keep enough
// precision to tell 99.9 % from 99.99 % (which matters for crash-free rates).

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const abs = Math.abs(n);
  if (abs < 1000) return String(Math.round(n));
  if (abs < 1_000_000) return `${trimZero((n / 1000).toFixed(abs < 10_000 ? 1 : 0))}k`;
  if (abs < 1_000_000_000) return `${trimZero((n / 1_000_000).toFixed(abs < 10_000_000 ? 1 : 0))}M`;
  return `${trimZero((n / 1_000_000_000).toFixed(1))}B`;
}

function trimZero(s: string): string {
  return s.endsWith('.0') ? s.slice(0, -2) : s;
}

/** A 0–1 fraction as a percentage; floors so 0.99999 never shows 100 %. */
export function formatPercent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '—';
  const pct = fraction * 100;
  if (pct >= 100) return '100%';
  if (pct <= 0) return '0%';
  // The epsilon keeps binary fractions like 0.29 * 100 = 28.999… at 29.
  const floored = Math.floor(pct * 100 + 1e-6) / 100;
  return `${floored.toFixed(2).replace(/\.?0+$/, '')}%`;
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${trimZero(value.toFixed(value < 10 ? 1 : 0))} ${units[unit]}`;
}

/** Share of each value in a distribution, as whole-number percentages. */
export function shares<T extends { count: number }>(items: T[]): Array<T & { pct: number }> {
  const total = items.reduce((sum, item) => sum + Math.max(0, item.count), 0);
  return items.map((item) => ({
    ...item,
    pct: total > 0 ? Math.round((Math.max(0, item.count) / total) * 100) : 0,
  }));
}

/** Any JSON value as readable text: strings as they are, the rest compact JSON. */
export function plainValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
