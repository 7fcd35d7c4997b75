import { Link, useParams, useSearchParams } from 'react-router';
import type { ReleaseSort } from '../../api';
import { api, keys, usePagedList } from '../../api';
import { PageHeader } from '../../components/PageHeader';
import { RelativeTime } from '../../components/Time';
import { PagedQueryState } from '../../components/LoadMore';
import { EmptyState } from '../../components/states';
import { Table } from '../../components/Table';
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

const CRASH_FREE_HELP = 'The share of sessions (or of users, over their sessions) that did not end in a crash.';

/** A crash-free cell: the share, or "no sessions" rather than 100 % of nothing. */
function CrashFree({ share, sessions }: { share: number | null; sessions: number }) {
  if (sessions === 0) {
    return (
      <td className="col-num muted" title="This release reported no sessions: send them to see crash-free rates.">
        no sessions
      </td>
    );
  }
  return (
    <td className={`col-num ${rateClass(share)}`} title={CRASH_FREE_HELP}>
      {formatPercent(share)}
    </td>
  );
}

export function ReleasesPage() {
  useDocumentTitle('Releases');
  const { pid = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const sort: ReleaseSort = params.get('sort') === 'version' ? 'version' : 'firstSeen';
  const releases = usePagedList([...keys.releases(pid), 'all', sort], (cursor, signal) => api.releases.list(pid, cursor, signal, sort));

  return (
    <div className="page">
      <PageHeader
        title="Releases"
        subtitle="Health of each version your apps reported."
        actions={
          <label className="filters-sort">
            Sort
            <select value={sort} onChange={(e) => setParams(e.target.value === 'version' ? { sort: 'version' } : {})} data-testid="release-sort">
              <option value="firstSeen">Newest first</option>
              <option value="version">Highest version</option>
            </select>
          </label>
        }
      />
      <PagedQueryState
        paged={releases}
        label="Loading releases…"
        empty={
          <EmptyState title="No releases yet." testId="releases-empty">
            A release appears with its first event, session, deploy (<code>POST /v1/deploys</code>) or source-map upload. Set{' '}
            <code>release</code> in your SDK's init to <code>app@version+build</code>.
          </EmptyState>
        }
      >
        {(rows) => (
          <Table
            testId="releases-table"
            head={
              <>
                <th>Release</th>
                <th className="col-num">Events</th>
                <th className="col-num">New issues</th>
                <th className="col-num">Sessions</th>
                <th className="col-num">Crash-free sessions</th>
                <th className="col-num">Crash-free users</th>
                <th className="col-time">Deployed</th>
                <th className="col-time">First seen</th>
                <th className="col-num">Artifacts</th>
              </>
            }
          >
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
                <CrashFree share={r.crashFreeSessions ?? null} sessions={r.sessionCount} />
                <CrashFree share={r.crashFreeUsers ?? null} sessions={r.sessionCount} />
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
          </Table>
        )}
      </PagedQueryState>
    </div>
  );
}
