import { describe, expect, it } from 'vitest';
import { formatClock, formatDateTime, formatDuration, formatRelative, millisBetween, parseTime } from './time';

const NOW = Date.parse('2025-06-15T12:00:00Z');

describe('parseTime', () => {
  it('parses RFC 3339 with any precision', () => {
    expect(parseTime('2025-06-15T12:00:00.123456Z')).toBe(Date.parse('2025-06-15T12:00:00.123Z'));
  });
  it('returns null for empty and garbage', () => {
    expect(parseTime(null)).toBeNull();
    expect(parseTime('')).toBeNull();
    expect(parseTime('yesterday-ish')).toBeNull();
  });
});

describe('formatDateTime', () => {
  it('formats in the local zone (UTC under test)', () => {
    expect(formatDateTime('2025-03-04T02:05:06.789Z')).toBe('2025-03-04 02:05:06');
  });
  it('shows a dash for missing values', () => {
    expect(formatDateTime(undefined)).toBe('—');
    expect(formatDateTime('nope')).toBe('—');
  });
});

describe('formatClock', () => {
  it('keeps milliseconds', () => {
    expect(formatClock('2025-03-04T02:05:06.07Z')).toBe('02:05:06.070');
  });
});

describe('formatRelative', () => {
  it('says just now under 45 seconds', () => {
    expect(formatRelative('2025-06-15T11:59:30Z', NOW)).toBe('just now');
  });
  it('uses minutes, hours and days', () => {
    expect(formatRelative('2025-06-15T11:57:00Z', NOW)).toBe('3m ago');
    expect(formatRelative('2025-06-15T07:00:00Z', NOW)).toBe('5h ago');
    expect(formatRelative('2025-06-11T12:00:00Z', NOW)).toBe('4d ago');
  });
  it('falls back to the date past a month', () => {
    expect(formatRelative('2025-01-02T08:00:00Z', NOW)).toBe('2025-01-02');
  });
  it('handles clock skew into the future', () => {
    expect(formatRelative('2025-06-15T12:02:00Z', NOW)).toBe('in 2m');
  });
  it('shows a dash for null', () => {
    expect(formatRelative(null, NOW)).toBe('—');
  });
});

describe('formatDuration', () => {
  it('is exact below a second', () => {
    expect(formatDuration(0)).toBe('0 ms');
    expect(formatDuration(0.5)).toBe('0.5 ms');
    expect(formatDuration(850)).toBe('850 ms');
  });
  it('uses seconds with decimals', () => {
    expect(formatDuration(1250)).toBe('1.25 s');
    expect(formatDuration(42_340)).toBe('42.3 s');
  });
  it('uses minutes, hours and days for long spans', () => {
    expect(formatDuration(125_000)).toBe('2m 05s');
    expect(formatDuration(3_720_000)).toBe('1h 02m');
    expect(formatDuration(86_400_000 + 3 * 3_600_000)).toBe('1d 3h');
  });
  it('shows a dash for null', () => {
    expect(formatDuration(null)).toBe('—');
  });
});

describe('millisBetween', () => {
  it('subtracts timestamps', () => {
    expect(millisBetween('2025-06-15T12:00:00Z', '2025-06-15T12:00:01.5Z')).toBe(1500);
    expect(millisBetween(null, '2025-06-15T12:00:00Z')).toBeNull();
  });
});
