import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api, keys } from '../../api';
import { KeyValues, PageHeader } from '../../components/PageHeader';
import { RelativeTime } from '../../components/Time';
import { Truncated } from '../../components/Truncated';
import { ErrorState, Loading, NotFoundState, isNotFound } from '../../components/states';
import { formatCount, formatPercent } from '../../lib/format';
import { seg } from '../../lib/url';
import { ArtifactList } from './ArtifactList';
import { BundleList } from './BundleList';
import { ReleaseChartsPanel } from './ReleaseCharts';
import { ReleaseIssues } from './ReleaseIssues';
import { useDocumentTitle } from '../../components/useDocumentTitle';

const CRASH_FREE_HELP = 'The share of sessions (or of users, over their sessions) that did not end in a crash.';

/** A crash-free share, or why there is none: 100 % of nothing is not health. */
function crashFree(share: number | null, sessions: number) {
  if (sessions === 0) return <span className="muted">no sessions</span>;
  return <span title={CRASH_FREE_HELP}>{formatPercent(share)}</span>;
}

export function ReleasePage() {
  const { pid = '', release = '' } = useParams();
  useDocumentTitle(release, 'Releases');
  const back = { to: `/p/${seg(pid)}/releases`, label: 'Back to releases' };
  const detail = useQuery({ queryKey: keys.release(pid, release), queryFn: ({ signal }) => api.releases.get(pid, release, signal) });

  if (detail.isPending) return <Loading label="Loading release…" />;
  if (detail.isError) {
    if (isNotFound(detail.error)) {
      return (
        <div className="page">
          <NotFoundState title="This project has no release of that name." back={back} testId="release-missing" />
        </div>
      );
    }
    return <ErrorState error={detail.error} onRetry={() => detail.refetch()} />;
  }
  const r = detail.data;
  const issues = `/p/${seg(pid)}/issues?status=all&release=${encodeURIComponent(release)}`;
  return (
    <div className="page" data-testid="release-page">
      <div className="breadcrumb-nav">
        <Link to={back.to}>Releases</Link> / <Truncated value={release} mono copy />
      </div>
      <PageHeader title={<span className="mono release-title">{release}</span>} subtitle={<Link to={issues}>Issues seen in this release</Link>} />
      <KeyValues
        testId="release-health"
        rows={[
          ['First seen', <RelativeTime value={r.firstSeen} />],
          ['Deployed', r.deployAt ? <RelativeTime value={r.deployAt} /> : null],
          ['Events', formatCount(r.eventCount)],
          ['New issues', formatCount(r.newIssueCount)],
          ['Sessions', formatCount(r.sessionCount)],
          ['Crash-free sessions', crashFree(r.crashFreeSessions ?? null, r.sessionCount)],
          ['Crash-free users', crashFree(r.crashFreeUsers ?? null, r.sessionCount)],
        ]}
      />
      <ReleaseChartsPanel pid={pid} release={release} />
      <h2 className="section-title">New issues</h2>
      <ReleaseIssues pid={pid} release={release} which="new" />
      <h2 className="section-title">Regressions</h2>
      <ReleaseIssues pid={pid} release={release} which="regressed" />
      <h2 className="section-title">Artifacts</h2>
      <ArtifactList pid={pid} release={release} />
      <h2 className="section-title">Bundles by debug ID</h2>
      <BundleList pid={pid} release={release} />
    </div>
  );
}
