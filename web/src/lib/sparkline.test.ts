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
});
