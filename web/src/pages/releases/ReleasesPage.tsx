import { useInfiniteQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api, keys } from '../../api';
import { PageHeader } from '../../components/PageHeader';
import { RelativeTime } from '../../components/Time';
import { LoadMore } from '../../components/LoadMore';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { formatCount, formatPercent } from '../../lib/format';
import { clipText } from '../../lib/title';
import { seg } from '../../lib/url';
import { useDocumentTitle } from '../../components/useDocumentTitle';

function rateClass(rate: number | null): string {
  if (rate === null) return '';
  if (rate < 0.98) return 'text-danger';
  if (rate < 0.995) return 'text-warn';
  return 'text-ok';
}

export function ReleasesPage() {
  useDocumentTitle('Releases');
  const { pid = '' } = useParams();
  const list = useInfiniteQuery({
    queryKey: [...keys.releases(pid), 'all'],
    queryFn: ({ pageParam, signal }) => api.releases.list(pid, pageParam, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const rows = list.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <div className="page">
      <PageHeader title="Releases" subtitle="Health of each version your apps reported, newest first." />
      {list.isPending ? (
        <Loading label="Loading releases…" />
      ) : !list.data ? (
        <ErrorState error={list.error} onRetry={() => list.refetch()} />
      ) : rows.length === 0 ? (
        <EmptyState title="No releases yet." testId="releases-empty">
          A release appears with its first event, session, deploy (<code>POST /v1/deploys</code>) or source-map upload. Set{' '}
          <code>release</code> in your SDK's init to <code>app@version+build</code>.
        </EmptyState>
      ) : (
        <>
          <table className="table" data-testid="releases-table">
            <thead>
              <tr>
                <th>Release</th>
                <th className="col-num">Events</th>
                <th className="col-num">New issues</th>
                <th className="col-num">Sessions</th>
                <th className="col-num">Crash-free sessions</th>
                <th className="col-num">Crash-free users</th>
                <th className="col-time">Deployed</th>
                <th className="col-time">First seen</th>
                <th className="col-num">Artifacts</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.name} data-testid="release-row">
                  <td>
                    <Link to={`/p/${seg(pid)}/releases/${seg(r.name)}`} className="mono truncated-text release-name" title={r.name}>
                      {clipText(r.name, 300)}
                    </Link>
                  </td>
                  <td className="col-num">
                    <Link to={`/p/${seg(pid)}/issues?status=all&release=${encodeURIComponent(r.name)}`} title="Issues seen in this release">
                      {formatCount(r.eventCount)}
                    </Link>
                  </td>
                  <td className="col-num">{formatCount(r.newIssueCount)}</td>
                  <td className="col-num">{formatCount(r.sessionCount)}</td>
                  <td className={`col-num ${rateClass(r.crashFreeSessions)}`}>{formatPercent(r.crashFreeSessions)}</td>
                  <td className={`col-num ${rateClass(r.crashFreeUsers)}`}>{formatPercent(r.crashFreeUsers)}</td>
                  <td className="col-time">
                    <RelativeTime value={r.deployAt} />
                  </td>
                  <td className="col-time">
                    <RelativeTime value={r.firstSeen} />
                  </td>
                  <td className="col-num">
                    <Link to={`/p/${seg(pid)}/releases/${seg(r.name)}`}>{r.artifactCount}</Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <LoadMore list={list} />
        </>
      )}
    </div>
  );
}
