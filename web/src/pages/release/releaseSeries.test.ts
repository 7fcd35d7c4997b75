import { describe, expect, it } from 'vitest';
import type { Schema } from '../../api';
import { overall, releaseCharts } from './releaseSeries';

const bucket = (over: Partial<Schema<'ReleaseBucket'>>): Schema<'ReleaseBucket'> => ({
  start: '2026-12-01T00:00:00Z',
  events: 0,
  sessions: 0,
  crashedSessions: 0,
  users: 0,
  crashedUsers: 0,
  projectSessions: 0,
  projectEvents: 0,
  ...over,
});

describe('releaseCharts', () => {
  it('gives no crash-free share for a bucket without sessions, rather than 100 %', () => {
    const charts = releaseCharts([bucket({ sessions: 4, crashedSessions: 1, users: 2, crashedUsers: 1, projectSessions: 8 }), bucket({})]);
    expect(charts.crashFreeSessions).toEqual([0.75, null]);
    expect(charts.crashFreeUsers).toEqual([0.5, null]);
    expect(charts.adoption).toEqual([0.5, null]);
    expect(charts.adoptionOf).toBe('sessions');
  });

  it('measures adoption by events when the project sent no sessions', () => {
    const charts = releaseCharts([bucket({ events: 1, projectEvents: 4 }), bucket({ events: 3, projectEvents: 3 })]);
    expect(charts.adoption).toEqual([0.25, 1]);
    expect(charts.adoptionOf).toBe('events');
  });
});

describe('overall', () => {
  it('divides the sums, not the average of the shares', () => {
    expect(overall([1, 9], [1, 10])).toBeCloseTo(10 / 11);
    expect(overall([0], [0])).toBeNull();
  });
});
