// Lays out a trace's spans as waterfall rows: depth-first by parent, each row
// positioned on a shared time axis as percentages of the trace's extent.

export interface WaterfallSpanInput {
  id: string;
  parentSpanId: string | null;
  startedAt: string;
  durationMs: number;
  name?: string;
}

export interface WaterfallRow<S extends WaterfallSpanInput> {
  span: S;
  depth: number;
  /** Start offset from the trace start, in ms. */
  offsetMs: number;
  /** Position on the axis, 0–100. */
  offsetPct: number;
  widthPct: number;
  childCount: number;
  /** Parent id given but not part of this trace (lost or still in flight). */
  orphan: boolean;
}

export interface WaterfallLayout<S extends WaterfallSpanInput> {
  startMs: number;
  endMs: number;
  totalMs: number;
  rows: WaterfallRow<S>[];
}

function clampPct(n: number): number {
  return Math.min(100, Math.max(0, n));
}

export function layoutWaterfall<S extends WaterfallSpanInput>(spans: readonly S[]): WaterfallLayout<S> {
  const timed = spans
    .map((span) => ({ span, start: Date.parse(span.startedAt) }))
    .filter((s) => !Number.isNaN(s.start));
  if (timed.length === 0) return { startMs: 0, endMs: 0, totalMs: 0, rows: [] };

  const startMs = Math.min(...timed.map((s) => s.start));
  const endMs = Math.max(...timed.map((s) => s.start + Math.max(0, s.span.durationMs || 0)));
  const totalMs = endMs - startMs;

  const byId = new Map(timed.map((t) => [t.span.id, t]));
  const children = new Map<string, typeof timed>();
  const roots: typeof timed = [];
  for (const t of timed) {
    const parent = t.span.parentSpanId;
    if (parent && parent !== t.span.id && byId.has(parent)) {
      const list = children.get(parent) ?? [];
      list.push(t);
      children.set(parent, list);
    } else {
      roots.push(t);
    }
  }
  const byStart = (a: (typeof timed)[number], b: (typeof timed)[number]) =>
    a.start - b.start || (a.span.name ?? '').localeCompare(b.span.name ?? '') || a.span.id.localeCompare(b.span.id);
  roots.sort(byStart);
  for (const list of children.values()) list.sort(byStart);

  const rows: WaterfallRow<S>[] = [];
  const placed = new Set<string>();
  const visit = (t: (typeof timed)[number], depth: number) => {
    // A parent cycle (a bad client) must not loop forever or drop spans.
    if (placed.has(t.span.id)) return;
    placed.add(t.span.id);
    const offsetMs = t.start - startMs;
    const duration = Math.max(0, t.span.durationMs || 0);
    const kids = children.get(t.span.id) ?? [];
    rows.push({
      span: t.span,
      depth,
      offsetMs,
      offsetPct: totalMs > 0 ? clampPct((offsetMs / totalMs) * 100) : 0,
      widthPct: totalMs > 0 ? clampPct((duration / totalMs) * 100) : 100,
      childCount: kids.length,
      orphan: depth === 0 && !!t.span.parentSpanId,
    });
    for (const kid of kids) visit(kid, depth + 1);
  };
  for (const root of roots) visit(root, 0);
  // Spans only reachable through a cycle have no root; show them at the top level.
  for (const t of [...timed].sort(byStart)) if (!placed.has(t.span.id)) visit(t, 0);

  return { startMs, endMs, totalMs, rows };
}

export interface Tick {
  ms: number;
  pct: number;
}

/**
 * Round tick marks (1, 2 or 5 × 10ⁿ ms apart) covering `totalMs`, about
 * `target` of them, so the axis reads 0 / 50 ms / 100 ms and not 0 / 47 ms.
 */
export function axisTicks(totalMs: number, target = 5): Tick[] {
  if (!(totalMs > 0)) return [{ ms: 0, pct: 0 }];
  const raw = totalMs / Math.max(1, target);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const ticks: Tick[] = [];
  for (let ms = 0; ms <= totalMs + 1e-9; ms += step) {
    ticks.push({ ms: Math.round(ms * 1000) / 1000, pct: (ms / totalMs) * 100 });
  }
  return ticks;
}
