import { describe, expect, it } from 'vitest';
import { axisTicks, layoutWaterfall, revealSpan, visibleRows, visibleTree } from './waterfall';

const T0 = Date.parse('2025-06-15T12:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

function span(id: string, parentSpanId: string | null, startMs: number, durationMs: number, name = id) {
  return { id, parentSpanId, startedAt: at(startMs), durationMs, name };
}

describe('layoutWaterfall', () => {
  it('draws an OpenTelemetry child of a Sentori SDK span under it, matched by the W3C span id', () => {
    const app = '019508a0-1111-7000-8abc-def012345678';
    const backend = '00000000-0000-0000-aaaa-000000000001';
    const layout = layoutWaterfall([
      span(app, null, 0, 500),
      // The backend continued the trace from a traceparent naming the app's span.
      span(backend, '00000000-0000-0000-8abc-def012345678', 100, 200),
      span('00000000-0000-0000-aaaa-000000000002', backend, 120, 50),
      // Only a zero high half is a W3C id: a UUID that merely ends the same is another span.
      span('other', '11111111-0000-0000-8abc-def012345678', 150, 10),
    ]);
    expect(layout.rows.map((r) => [r.span.id, r.depth])).toEqual([
      [app, 0],
      [backend, 1],
      ['00000000-0000-0000-aaaa-000000000002', 2],
      ['other', 0],
    ]);
    expect(layout.rows[0]!.childCount).toBe(1);
    expect(layout.rows[1]!.orphan).toBe(false);
    expect(layout.rows[3]!.orphan).toBe(true);
  });

  it('nests children under parents depth-first and orders siblings by start', () => {
    const layout = layoutWaterfall([
      span('db', 'req', 300, 100),
      span('req', null, 0, 1000),
      span('cache', 'req', 100, 50),
      span('row', 'db', 320, 10),
    ]);
    expect(layout.rows.map((r) => [r.span.id, r.depth])).toEqual([
      ['req', 0],
      ['cache', 1],
      ['db', 1],
      ['row', 2],
    ]);
    expect(layout.totalMs).toBe(1000);
    expect(layout.rows[0]!.childCount).toBe(2);
  });

  it('positions bars as percentages of the trace extent', () => {
    const layout = layoutWaterfall([span('root', null, 0, 200), span('child', 'root', 50, 100)]);
    const child = layout.rows.find((r) => r.span.id === 'child')!;
    expect(child.offsetMs).toBe(50);
    expect(child.offsetPct).toBe(25);
    expect(child.widthPct).toBe(50);
  });

  it('extends the axis to a child that outlives its parent', () => {
    const layout = layoutWaterfall([span('root', null, 0, 100), span('late', 'root', 50, 150)]);
    expect(layout.totalMs).toBe(200);
    expect(layout.rows[0]!.widthPct).toBe(50);
  });

  it('puts spans whose parent is missing at the top level and flags them', () => {
    const layout = layoutWaterfall([span('a', null, 0, 100), span('b', 'gone', 10, 10)]);
    expect(layout.rows.map((r) => [r.span.id, r.depth, r.orphan])).toEqual([
      ['a', 0, false],
      ['b', 0, true],
    ]);
  });

  it('survives parent cycles without dropping spans', () => {
    const layout = layoutWaterfall([span('x', 'y', 0, 10), span('y', 'x', 5, 10)]);
    expect(layout.rows.map((r) => r.span.id).sort()).toEqual(['x', 'y']);
  });

  it('gives zero-length traces full-width bars instead of dividing by zero', () => {
    const layout = layoutWaterfall([span('only', null, 0, 0)]);
    expect(layout.rows[0]!.widthPct).toBe(100);
    expect(layout.rows[0]!.offsetPct).toBe(0);
  });

  it('ignores spans with unparseable start times', () => {
    const layout = layoutWaterfall([span('ok', null, 0, 10), { ...span('bad', null, 0, 1), startedAt: 'x' }]);
    expect(layout.rows).toHaveLength(1);
  });

  it('is empty for no spans', () => {
    expect(layoutWaterfall([])).toEqual({ startMs: 0, endMs: 0, totalMs: 0, rows: [] });
  });

  // A chain this deep overflows the stack of a recursive walk; spreading
  // this many numbers into `Math.min(...)` throws RangeError in V8 (about
  // 120 000 arguments; Safari's limit is 65 536).
  const HUGE = 100_000;
  const WIDE = 150_000;

  it('lays out a chain 100 000 spans deep, each under the one before', () => {
    const spans = Array.from({ length: HUGE }, (_, i) => span(`s${i}`, i === 0 ? null : `s${i - 1}`, i, HUGE - i));
    spans.reverse(); // arrival order must not matter
    const layout = layoutWaterfall(spans);
    expect(layout.rows).toHaveLength(HUGE);
    expect(layout.totalMs).toBe(HUGE);
    layout.rows.forEach((row, i) => {
      if (row.span.id !== `s${i}` || row.depth !== i || row.childCount !== (i < HUGE - 1 ? 1 : 0)) {
        throw new Error(`row ${i} is ${row.span.id} at depth ${row.depth} with ${row.childCount} children`);
      }
    });
  });

  it('lays out 150 000 siblings under one root in start order', () => {
    const spans = [span('root', null, 0, WIDE)];
    for (let i = WIDE - 1; i >= 1; i--) spans.push(span(`c${String(i).padStart(6, '0')}`, 'root', i, 1));
    const layout = layoutWaterfall(spans);
    expect(layout.rows).toHaveLength(WIDE);
    expect(layout.rows[0]!.span.id).toBe('root');
    expect(layout.rows[0]!.childCount).toBe(WIDE - 1);
    layout.rows.slice(1).forEach((row, i) => {
      if (row.depth !== 1 || row.offsetMs !== i + 1) throw new Error(`row ${i + 1}: ${row.span.id} at depth ${row.depth}`);
    });
  });

  it('lays out 150 000 unrelated top-level spans', () => {
    const spans = Array.from({ length: WIDE }, (_, i) => span(`t${i}`, null, WIDE - i, 1));
    const layout = layoutWaterfall(spans);
    expect(layout.startMs).toBe(T0 + 1);
    expect(layout.endMs).toBe(T0 + WIDE + 1);
    expect(layout.rows.every((row) => row.depth === 0)).toBe(true);
    expect(layout.rows[0]!.span.id).toBe(`t${WIDE - 1}`);
    expect(layout.rows[WIDE - 1]!.span.id).toBe('t0');
  });
});

describe('trace extent', () => {
  it('runs from the earliest span start to the latest span end, whichever spans those are', () => {
    // A span that began before the root and one that ended after it.
    const layout = layoutWaterfall([span('root', null, 100, 300), span('early', 'root', 0, 50), span('late', 'root', 350, 400)]);
    expect(layout.totalMs).toBe(750);
    const root = layout.rows.find((r) => r.span.id === 'root')!;
    expect(root.offsetPct).toBeCloseTo((100 / 750) * 100);
    expect(root.widthPct).toBeCloseTo((300 / 750) * 100);
  });
});

describe('collapsing subtrees', () => {
  // req ─┬ cache
  //      └ db ─┬ row1
  //            └ row2 ─ fetch
  // other (a second root)
  const layout = layoutWaterfall([
    span('req', null, 0, 1000),
    span('cache', 'req', 10, 10),
    span('db', 'req', 100, 500),
    span('row1', 'db', 110, 10),
    span('row2', 'db', 200, 10),
    span('fetch', 'row2', 201, 5),
    span('other', null, 50, 10),
  ]);
  const ids = (rows: readonly { span: { id: string } }[]) => rows.map((r) => r.span.id);

  it('knows each row’s drawn parent and how many rows its subtree holds', () => {
    expect(layout.rows.map((r) => [r.span.id, r.parentId, r.descendantCount])).toEqual([
      ['req', undefined, 5],
      ['cache', 'req', 0],
      ['db', 'req', 3],
      ['row1', 'db', 0],
      ['row2', 'db', 1],
      ['fetch', 'row2', 0],
      ['other', undefined, 0],
    ]);
  });

  it('hides every row under a collapsed span and keeps the span itself', () => {
    expect(ids(visibleTree(layout.rows, new Set(['db'])))).toEqual(['req', 'cache', 'db', 'other']);
    expect(ids(visibleTree(layout.rows, new Set(['req'])))).toEqual(['req', 'other']);
    expect(ids(visibleTree(layout.rows, new Set(['row2', 'cache'])))).toEqual(['req', 'cache', 'db', 'row1', 'row2', 'other']);
  });

  it('keeps a collapsed span folded inside a collapsed ancestor, and shows it again once that opens', () => {
    const collapsed = new Set(['req', 'row2']);
    expect(ids(visibleTree(layout.rows, collapsed))).toEqual(['req', 'other']);
    collapsed.delete('req');
    expect(ids(visibleTree(layout.rows, collapsed))).toEqual(['req', 'cache', 'db', 'row1', 'row2', 'other']);
  });

  it('returns the rows themselves when nothing is collapsed, so 100 000 rows are not copied', () => {
    expect(visibleTree(layout.rows, new Set())).toBe(layout.rows);
  });

  it('opens the ancestors of a span it must show, and nothing else', () => {
    const collapsed = new Set(['req', 'db', 'row2', 'cache']);
    expect([...revealSpan(layout.rows, collapsed, 'fetch')]).toEqual(['cache']);
    expect(ids(visibleTree(layout.rows, revealSpan(layout.rows, collapsed, 'row1')))).toContain('row1');
    const unchanged = new Set(['cache']);
    expect(revealSpan(layout.rows, unchanged, 'fetch')).toBe(unchanged);
  });

  it('counts the subtrees of a chain 100 000 deep without recursing', () => {
    const spans = Array.from({ length: 100_000 }, (_, i) => span(`s${i}`, i === 0 ? null : `s${i - 1}`, i, 1));
    const deep = layoutWaterfall(spans);
    expect(deep.rows[0]!.descendantCount).toBe(99_999);
    expect(deep.rows[99_999]!.descendantCount).toBe(0);
    expect(visibleTree(deep.rows, new Set(['s1']))).toHaveLength(2);
    expect(revealSpan(deep.rows, new Set(['s0', 's50000']), 's99999').size).toBe(0);
  });
});

describe('visibleRows', () => {
  it('covers the viewport plus the overscan, clamped to the list', () => {
    expect(visibleRows(0, 280, 28, 100_000, 5)).toEqual({ start: 0, end: 16 });
    expect(visibleRows(28 * 50_000, 280, 28, 100_000, 5)).toEqual({ start: 49_995, end: 50_016 });
    expect(visibleRows(28 * 99_999, 280, 28, 100_000, 5)).toEqual({ start: 99_994, end: 100_000 });
    expect(visibleRows(0, 280, 28, 3, 5)).toEqual({ start: 0, end: 3 });
  });
  it('never inverts when scrolled past the end or given nothing', () => {
    expect(visibleRows(1e9, 280, 28, 10, 5)).toEqual({ start: 10, end: 10 });
    expect(visibleRows(-50, 0, 28, 0)).toEqual({ start: 0, end: 0 });
  });
});

describe('axisTicks', () => {
  it('uses round steps', () => {
    expect(axisTicks(1000).map((t) => t.ms)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(axisTicks(470).map((t) => t.ms)).toEqual([0, 100, 200, 300, 400]);
    expect(axisTicks(12_000, 4).map((t) => t.ms)).toEqual([0, 5000, 10_000]);
  });
  it('puts ticks at their percentage of the total', () => {
    const ticks = axisTicks(400, 4);
    expect(ticks.map((t) => t.pct)).toEqual([0, 25, 50, 75, 100]);
  });
  it('has a single zero tick for an empty trace', () => {
    expect(axisTicks(0)).toEqual([{ ms: 0, pct: 0 }]);
  });
});
