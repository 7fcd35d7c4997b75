// The queries a page starts with, as options shared by the page itself and
// by the start-up prefetch (routes/prefetch.ts): one definition, so the
// prefetched data lands under exactly the key the page then reads.
import { infiniteQueryOptions, queryOptions } from '@tanstack/react-query';
import * as api from './endpoints';
import { keys } from './keys';
import type { IssueQuery } from './types';

export const projectsQuery = queryOptions({
  queryKey: keys.projects,
  queryFn: ({ signal }) => api.projects.list(signal),
});

export const issueListQuery = (pid: string, query: IssueQuery) =>
  infiniteQueryOptions({
    queryKey: keys.issueList(pid, query),
    queryFn: ({ pageParam, signal }) => api.issues.list(pid, query, pageParam, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });

export const issueCountsQuery = (pid: string, narrowing: IssueQuery) =>
  queryOptions({
    queryKey: keys.issueCounts(pid, narrowing),
    queryFn: ({ signal }) => api.issues.counts(pid, narrowing, signal),
  });

/** The first page of releases, for the release pickers. */
export const releasePickerQuery = (pid: string) =>
  queryOptions({
    queryKey: [...keys.releases(pid), 'first'] as const,
    queryFn: ({ signal }) => api.releases.list(pid, null, signal),
  });

export const issueQuery = (pid: string, iid: string) =>
  queryOptions({
    queryKey: keys.issue(pid, iid),
    queryFn: ({ signal }) => api.issues.get(pid, iid, signal),
  });

/** The event an issue page shows: the one in its path, else the newest. */
export const shownEventQuery = (pid: string, iid: string, eid: string | undefined) =>
  queryOptions({
    queryKey: eid ? keys.event(pid, eid) : keys.latestEvent(pid, iid),
    queryFn: ({ signal }) => (eid ? api.events.get(pid, eid, signal) : api.issues.latestEvent(pid, iid, signal)),
  });
