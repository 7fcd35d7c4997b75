import { describe, expect, it } from 'vitest';
import { sparkline } from './sparkline';

describe('sparkline', () => {
  it('scales the maximum to the top padding and zero to the bottom', () => {
    const s = sparkline([0, 5, 10], 100, 20, 2);
    expect(s.line).toBe('M0,18 L50,10 L100,2');
    expect(s.max).toBe(10);
    expect(s.total).toBe(15);
  });

  it('closes the area along the bottom edge', () => {
    const s = sparkline([1, 1], 10, 10, 0);
    expect(s.area).toBe('M0,0 L10,0 L10,10 L0,10 Z');
  });

  it('draws an all-zero series as a flat bottom line', () => {
    const s = sparkline(new Array(24).fill(0), 46, 16, 1);
    expect(s.max).toBe(0);
    const ys = s.line.split(' ').map((p) => Number(p.slice(1).split(',')[1]));
    expect(new Set(ys)).toEqual(new Set([15]));
    expect(s.line.split(' ')).toHaveLength(24);
  });

  it('treats negative and non-finite counts as zero', () => {
    const s = sparkline([-3, Number.NaN, 4], 2, 10, 0);
    expect(s.line).toBe('M0,10 L1,10 L2,0');
  });

  it('spreads a single value across the width', () => {
    expect(sparkline([7], 30, 10, 1).line).toBe('M0,1 L30,1');
  });

  it('returns empty paths for no data', () => {
    expect(sparkline([], 30, 10)).toEqual({ line: '', area: '', max: 0, total: 0 });
  });

  it('scales to a ceiling larger than the data, as shares do', () => {
    expect(sparkline([0.5, 1], 100, 20, 2, 1).line).toBe('M0,10 L100,2');
    expect(sparkline([0.5, 1], 100, 20, 2).line).toBe('M0,10 L100,2');
    expect(sparkline([0.25, 0.5], 100, 20, 2, 1).line).toBe('M0,14 L100,10');
  });

  it('breaks the line at a gap and draws no area under a broken line', () => {
    const s = sparkline([1, null, 1, 1], 30, 10, 0);
    expect(s.line).toBe('M0,0 L5,0 M20,0 L30,0');
    expect(s.area).toBe('');
    expect([s.max, s.total]).toEqual([1, 3]);
  });

  it('draws a value between two gaps as a dash a bucket wide', () => {
    expect(sparkline([null, 1, null], 40, 10, 0).line).toBe('M10,0 L30,0');
    expect(sparkline([null, null, 0.5], 40, 10, 0, 1).line).toBe('M30,5 L40,5');
  });
});
