import { describe, expect, it } from 'vitest';
import { axisTicks, layoutWaterfall } from './waterfall';

const T0 = Date.parse('2025-06-15T12:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

function span(id: string, parentSpanId: string | null, startMs: number, durationMs: number, name = id) {
  return { id, parentSpanId, startedAt: at(startMs), durationMs, name };
}

describe('layoutWaterfall', () => {
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
