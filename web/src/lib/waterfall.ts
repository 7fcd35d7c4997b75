// Lays out a trace's spans as waterfall rows: depth-first by parent, each row
// positioned on a shared time axis as percentages of the trace's extent.
//
// A trace can hold 100 000 spans, in any shape a client sent: one parent with
// every other span under it, or a chain 100 000 deep. So nothing here recurses
// over depth (the call stack would overflow) or spreads a span array into
// arguments (`Math.max(...xs)` throws RangeError past about 100 000), and each
// step is a loop or one sort.

export interface WaterfallSpanInput {
  id: string;
  /** Absent or null on a root span. */
  parentSpanId?: string | null;
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
  /** Rows under this one at any depth: the rows that follow it, deeper than it. */
  descendantCount: number;
  /** The id of the row this one is drawn under (its parent, found by UUID or W3C span id); absent on a top-level row. */
  parentId?: string;
  /** Parent id given but not part of this trace (lost, still in flight, or on a page not loaded yet). */
  orphan: boolean;
}

export interface WaterfallLayout<S extends WaterfallSpanInput> {
  startMs: number;
  endMs: number;
  totalMs: number;
  rows: WaterfallRow<S>[];
}

interface Timed<S> {
  span: S;
  start: number;
  duration: number;
}

function clampPct(n: number): number {
  return Math.min(100, Math.max(0, n));
}

/** Code-unit order: `localeCompare` would cost a collator call per comparison of a 100 000-span sort. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The parent a span names, among `ids`. A span id that crossed W3C trace
 * context (an OpenTelemetry service continuing a trace an app's Sentori SDK
 * started) comes back as 8 zero bytes then the original UUID's last 8 bytes
 * (protocol.md, "OTLP"), so such a parent is also looked up by those 8
 * bytes: the two halves of the trace draw as one tree.
 */
function resolveParent(parent: string, ids: Set<string>, byW3c: Map<string, string>): string | undefined {
  if (ids.has(parent)) return parent;
  const hex = parent.replace(/-/g, '').toLowerCase();
  if (hex.length !== 32 || !hex.startsWith('0000000000000000')) return undefined;
  return byW3c.get(hex.slice(16));
}

/** A UUID's last 8 bytes as hex: its W3C span id. */
function w3cSpanId(id: string): string {
  return id.replace(/-/g, '').toLowerCase().slice(16);
}

function byStart<S extends WaterfallSpanInput>(a: Timed<S>, b: Timed<S>): number {
  return a.start - b.start || compareText(a.span.name ?? '', b.span.name ?? '') || compareText(a.span.id, b.span.id);
}

export function layoutWaterfall<S extends WaterfallSpanInput>(spans: readonly S[]): WaterfallLayout<S> {
  const timed: Timed<S>[] = [];
  let startMs = Infinity;
  let endMs = -Infinity;
  for (const span of spans) {
    const start = Date.parse(span.startedAt);
    if (Number.isNaN(start)) continue;
    const duration = Math.max(0, span.durationMs || 0);
    timed.push({ span, start, duration });
    startMs = Math.min(startMs, start);
    endMs = Math.max(endMs, start + duration);
  }
  if (timed.length === 0) return { startMs: 0, endMs: 0, totalMs: 0, rows: [] };
  const totalMs = endMs - startMs;

  // Sorted once: every list built from it below (roots, each parent's
  // children) is then in sibling order already.
  timed.sort(byStart);
  const ids = new Set<string>();
  const byW3c = new Map<string, string>();
  for (const t of timed) {
    ids.add(t.span.id);
    byW3c.set(w3cSpanId(t.span.id), t.span.id);
  }
  const children = new Map<string, Timed<S>[]>();
  const roots: Timed<S>[] = [];
  for (const t of timed) {
    const parent = t.span.parentSpanId ? resolveParent(t.span.parentSpanId, ids, byW3c) : undefined;
    if (parent && parent !== t.span.id) {
      const list = children.get(parent);
      if (list) list.push(t);
      else children.set(parent, [t]);
    } else {
      roots.push(t);
    }
  }

  const rows: WaterfallRow<S>[] = [];
  const placed = new Set<string>();
  // Depth-first with an explicit stack; children are pushed last-first so
  // they come off it in start order.
  const stack: Array<{ t: Timed<S>; depth: number; parentId?: string }> = [];
  const placeTree = (top: Timed<S>) => {
    stack.push({ t: top, depth: 0 });
    while (stack.length > 0) {
      const { t, depth, parentId } = stack.pop()!;
      // A parent cycle (a bad client) must not loop forever or drop spans.
      if (placed.has(t.span.id)) continue;
      placed.add(t.span.id);
      const offsetMs = t.start - startMs;
      const kids = children.get(t.span.id) ?? [];
      rows.push({
        span: t.span,
        depth,
        offsetMs,
        offsetPct: totalMs > 0 ? clampPct((offsetMs / totalMs) * 100) : 0,
        widthPct: totalMs > 0 ? clampPct((t.duration / totalMs) * 100) : 100,
        childCount: kids.length,
        descendantCount: 0,
        parentId,
        orphan: depth === 0 && !!t.span.parentSpanId,
      });
      for (let i = kids.length - 1; i >= 0; i--) stack.push({ t: kids[i]!, depth: depth + 1, parentId: t.span.id });
    }
  };
  for (const root of roots) placeTree(root);
  // Spans only reachable through a cycle have no root; show them at the top level.
  for (const t of timed) if (!placed.has(t.span.id)) placeTree(t);
  countDescendants(rows);

  return { startMs, endMs, totalMs, rows };
}

/**
 * Fills `descendantCount` of rows in depth-first order: a row's subtree is
 * the run of rows after it that are deeper. One pass, with the rows still
 * open on a stack.
 */
function countDescendants<S extends WaterfallSpanInput>(rows: WaterfallRow<S>[]) {
  const open: number[] = [];
  const close = (until: number, depth: number) => {
    while (open.length > 0 && rows[open[open.length - 1]!]!.depth >= depth) {
      const index = open.pop()!;
      rows[index]!.descendantCount = until - index - 1;
    }
  };
  rows.forEach((row, index) => {
    close(index, row.depth);
    open.push(index);
  });
  close(rows.length, -1);
}

/**
 * The rows still shown when the subtrees of the spans in `collapsed` are
 * folded: each collapsed row stays, the rows under it go. The same array
 * when nothing is collapsed.
 */
export function visibleTree<S extends WaterfallSpanInput>(
  rows: readonly WaterfallRow<S>[],
  collapsed: ReadonlySet<string>,
): readonly WaterfallRow<S>[] {
  if (collapsed.size === 0) return rows;
  const shown: WaterfallRow<S>[] = [];
  let foldedBelow = Infinity;
  for (const row of rows) {
    if (row.depth > foldedBelow) continue;
    foldedBelow = collapsed.has(row.span.id) ? row.depth : Infinity;
    shown.push(row);
  }
  return shown;
}

/**
 * `collapsed` without the spans above `spanId`, so that it shows; the same
 * set when none of them is collapsed.
 */
export function revealSpan<S extends WaterfallSpanInput>(
  rows: readonly WaterfallRow<S>[],
  collapsed: ReadonlySet<string>,
  spanId: string,
): ReadonlySet<string> {
  if (collapsed.size === 0) return collapsed;
  const parentOf = new Map<string, string | undefined>();
  for (const row of rows) parentOf.set(row.span.id, row.parentId);
  const opened = new Set(collapsed);
  // Bounded by the row count: the tree has no cycles, but a bad map must not hang the page.
  for (let id = parentOf.get(spanId), steps = 0; id !== undefined && steps < rows.length; id = parentOf.get(id), steps++) {
    opened.delete(id);
  }
  return opened.size === collapsed.size ? collapsed : opened;
}

/** The rows a scrolled list of fixed-height rows shows, plus `overscan` rows either side. */
export function visibleRows(scrollTop: number, viewportHeight: number, rowHeight: number, rowCount: number, overscan = 10) {
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const start = Math.max(0, Math.min(rowCount, first - overscan));
  const end = Math.min(rowCount, first + Math.ceil(Math.max(0, viewportHeight) / rowHeight) + 1 + overscan);
  return { start, end: Math.max(start, end) };
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
