import type { Schema } from '../../api';

/** A share of a bucket's whole, or `null` when the whole is nothing (a gap, not 0 % or 100 %). */
export function share(part: number, whole: number): number | null {
  return whole > 0 ? part / whole : null;
}

/** The charts of a release's page, each a value per bucket. */
export interface ReleaseCharts {
  events: number[];
  sessions: number[];
  crashFreeSessions: (number | null)[];
  crashFreeUsers: (number | null)[];
  /** The release's share of the project's sessions, or of its events when the project has no sessions in the period. */
  adoption: (number | null)[];
  adoptionOf: 'sessions' | 'events';
}

export function releaseCharts(buckets: readonly Schema<'ReleaseBucket'>[]): ReleaseCharts {
  const bySessions = buckets.some((b) => b.projectSessions > 0);
  return {
    events: buckets.map((b) => b.events),
    sessions: buckets.map((b) => b.sessions),
    crashFreeSessions: buckets.map((b) => share(b.sessions - b.crashedSessions, b.sessions)),
    crashFreeUsers: buckets.map((b) => share(b.users - b.crashedUsers, b.users)),
    adoption: buckets.map((b) => (bySessions ? share(b.sessions, b.projectSessions) : share(b.events, b.projectEvents))),
    adoptionOf: bySessions ? 'sessions' : 'events',
  };
}

/** The share over the whole period: sums, not an average of the buckets' shares. */
export function overall(parts: readonly number[], wholes: readonly number[]): number | null {
  const sum = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0);
  return share(sum(parts), sum(wholes));
}
