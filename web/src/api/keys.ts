// Query keys in one place, so a mutation can invalidate exactly what it changed.
import type { IssueQuery, ReleaseIssueKind, Schema, TraceQuery } from './types';

export const keys = {
  me: ['me'] as const,
  projects: ['projects'] as const,
  tokens: (pid: string) => ['projects', pid, 'tokens'] as const,
  issues: (pid: string) => ['projects', pid, 'issues'] as const,
  issueList: (pid: string, query: IssueQuery) => ['projects', pid, 'issues', 'list', query] as const,
  issueCounts: (pid: string, query: IssueQuery) => ['projects', pid, 'issues', 'counts', query] as const,
  issue: (pid: string, iid: string) => ['projects', pid, 'issues', 'detail', iid] as const,
  issueHistogram: (pid: string, iid: string, period: Schema<'HistogramPeriod'>) =>
    ['projects', pid, 'issues', 'histogram', iid, period] as const,
  issueEvents: (pid: string, iid: string) => ['projects', pid, 'issues', 'events', iid] as const,
  /** Under `issues`, so whatever refreshes an issue refreshes its newest event too. */
  latestEvent: (pid: string, iid: string) => ['projects', pid, 'issues', 'latest-event', iid] as const,
  issueActivity: (pid: string, iid: string) => ['projects', pid, 'issues', 'activity', iid] as const,
  event: (pid: string, eid: string) => ['projects', pid, 'events', eid] as const,
  attachments: (pid: string, eid: string) => ['projects', pid, 'events', eid, 'attachments'] as const,
  traces: (pid: string, query: TraceQuery) => ['projects', pid, 'traces', 'list', query] as const,
  trace: (pid: string, traceId: string) => ['projects', pid, 'traces', 'detail', traceId] as const,
  transactions: (pid: string, period: Schema<'HistogramPeriod'>) => ['projects', pid, 'traces', 'transactions', period] as const,
  releases: (pid: string) => ['projects', pid, 'releases'] as const,
  release: (pid: string, release: string) => ['projects', pid, 'releases', release] as const,
  releaseSeries: (pid: string, release: string, period: Schema<'HistogramPeriod'>) =>
    ['projects', pid, 'releases', release, 'series', period] as const,
  releaseIssues: (pid: string, release: string, which: ReleaseIssueKind) =>
    ['projects', pid, 'releases', release, 'issues', which] as const,
  artifacts: (pid: string, release: string) => ['projects', pid, 'releases', release, 'artifacts'] as const,
  bundles: (pid: string, release: string) => ['projects', pid, 'releases', release, 'bundles'] as const,
  recipients: (pid: string) => ['projects', pid, 'recipients'] as const,
  status: ['status'] as const,
};
