// On a full page load the bundle boots, asks /me, renders the layout and only
// then mounts the page, whose queries start last: about 30-45 ms after /me on
// the 2-core box where the browser bench runs (docs/performance.md). The
// pages that open most often - the issue list and an issue - have their first
// requests sent here instead, beside /me, under the keys the pages read, so
// the data is on its way while React renders. Only what the first screen
// needs: the list's tab counts and release picker wait for its rows (see
// IssuesPage), or they would share the server's and the browser's time with
// them. Nothing is prefetched for a visitor who never logged in (no session
// hint): they would only get 401s.
import type { QueryClient } from '@tanstack/react-query';
import { matchPath } from 'react-router';
import { issueListQuery, issueQuery, projectsQuery, shownEventQuery } from '../api';
import { mayHaveSession } from '../auth/session';
import { readIssueFilters, toIssueQuery } from '../lib/issueFilters';

export function prefetchLandingPage(queryClient: QueryClient, { pathname, search }: { pathname: string; search: string }): void {
  if (!mayHaveSession()) return;
  const list = matchPath('/p/:pid/issues', pathname);
  const event = matchPath('/p/:pid/issues/:iid/events/:eid', pathname);
  const issue = matchPath('/p/:pid/issues/:iid', pathname) ?? event;
  if (!list && !issue) return;
  void queryClient.prefetchQuery(projectsQuery);
  if (list?.params.pid) {
    const pid = list.params.pid;
    const filters = readIssueFilters(new URLSearchParams(search));
    void queryClient.prefetchInfiniteQuery(issueListQuery(pid, toIssueQuery(filters)));
  } else if (issue?.params.pid && issue.params.iid) {
    const { pid, iid } = issue.params;
    const eid = event?.params.eid;
    void queryClient.prefetchQuery(issueQuery(pid, iid));
    // The event tab is the page's default; another tab shows no event.
    if (!new URLSearchParams(search).get('tab')) void queryClient.prefetchQuery(shownEventQuery(pid, iid, eid));
  }
}
