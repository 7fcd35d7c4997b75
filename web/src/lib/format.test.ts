import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatPercent, plainValue, shares } from './format';

describe('formatCount', () => {
  it('keeps small numbers as they are', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
  });
  it('abbreviates thousands and millions', () => {
    expect(formatCount(1234)).toBe('1.2k');
    expect(formatCount(2000)).toBe('2k');
    expect(formatCount(45_600)).toBe('46k');
    expect(formatCount(1_500_000)).toBe('1.5M');
    expect(formatCount(3_000_000_000)).toBe('3B');
  });
  it('shows a dash for missing', () => {
    expect(formatCount(undefined)).toBe('—');
  });
});

describe('formatPercent', () => {
  it('keeps two decimals and trims trailing zeros', () => {
    expect(formatPercent(0.9987)).toBe('99.87%');
    expect(formatPercent(0.95)).toBe('95%');
    expect(formatPercent(0.905)).toBe('90.5%');
    expect(formatPercent(0.29)).toBe('29%');
  });
  it('never rounds a near-perfect rate up to 100%', () => {
    expect(formatPercent(0.99999)).toBe('99.99%');
    expect(formatPercent(1)).toBe('100%');
  });
  it('shows a dash when there is no data', () => {
    expect(formatPercent(null)).toBe('—');
  });
});

describe('formatBytes', () => {
  it('uses binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(256 * 1024 * 1024)).toBe('256 MiB');
  });
});

describe('shares', () => {
  it('computes rounded percentages of the total', () => {
    const out = shares([
      { value: 'a', count: 3 },
      { value: 'b', count: 1 },
    ]);
    expect(out.map((s) => s.pct)).toEqual([75, 25]);
    expect(out[0]!.value).toBe('a');
  });
  it('is zero everywhere for an empty total', () => {
    expect(shares([{ value: 'a', count: 0 }])[0]!.pct).toBe(0);
  });
});

describe('plainValue', () => {
  it('keeps strings untouched, markup included', () => {
    expect(plainValue('<img src=x onerror=alert(1)>')).toBe('<img src=x onerror=alert(1)>');
  });
  it('stringifies numbers, booleans and objects', () => {
    expect(plainValue(3)).toBe('3');
    expect(plainValue(false)).toBe('false');
    expect(plainValue({ status: 500, url: '/a' })).toBe('{"status":500,"url":"/a"}');
  });
  it('is empty for null and undefined', () => {
    expect(plainValue(null)).toBe('');
    expect(plainValue(undefined)).toBe('');
  });
});
