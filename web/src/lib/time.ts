// Time helpers shared by every page. Timestamps arrive as RFC 3339 strings;
// anything unparseable is shown as an em dash rather than "Invalid Date".

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export function parseTime(value: string | null | undefined): number | null {
  if (!value) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : t;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** "2025-03-04 12:05:06" in the viewer's zone: sortable and unambiguous. */
export function formatDateTime(value: string | null | undefined): string {
  const t = parseTime(value);
  if (t === null) return '—';
  const d = new Date(t);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** Time of day with milliseconds, for breadcrumbs within one event. */
export function formatClock(value: string | null | undefined): string {
  const t = parseTime(value);
  if (t === null) return '—';
  const d = new Date(t);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/**
 * "3m ago" style. Device clocks drift, so a timestamp slightly in the
 * future is normal and reads "in 2m" instead of a negative age.
 */
export function formatRelative(value: string | null | undefined, now: number = Date.now()): string {
  const t = parseTime(value);
  if (t === null) return '—';
  const diff = now - t;
  const abs = Math.abs(diff);
  if (abs < 45 * SECOND) return 'just now';
  let text: string;
  if (abs < HOUR) text = `${Math.round(abs / MINUTE)}m`;
  else if (abs < DAY) text = `${Math.round(abs / HOUR)}h`;
  else if (abs < 30 * DAY) text = `${Math.round(abs / DAY)}d`;
  else return formatDateTime(value).slice(0, 10);
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** Span and round-trip durations: precise when short, coarse when long. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1) return `${ms.toFixed(2).replace(/\.?0+$/, '') || '0'} ms`;
  if (ms < SECOND) return `${Math.round(ms)} ms`;
  if (ms < 10 * SECOND) return `${(ms / SECOND).toFixed(2)} s`;
  if (ms < MINUTE) return `${(ms / SECOND).toFixed(1)} s`;
  if (ms < HOUR) {
    const m = Math.floor(ms / MINUTE);
    const s = Math.floor((ms % MINUTE) / SECOND);
    return `${m}m ${pad(s)}s`;
  }
  if (ms < DAY) {
    const h = Math.floor(ms / HOUR);
    const m = Math.floor((ms % HOUR) / MINUTE);
    return `${h}h ${pad(m)}m`;
  }
  const d = Math.floor(ms / DAY);
  const h = Math.floor((ms % DAY) / HOUR);
  return `${d}d ${h}h`;
}

/** Milliseconds between two timestamps, or null when either is missing. */
export function millisBetween(from: string | null | undefined, to: string | null | undefined): number | null {
  const a = parseTime(from);
  const b = parseTime(to);
  if (a === null || b === null) return null;
  return b - a;
}
