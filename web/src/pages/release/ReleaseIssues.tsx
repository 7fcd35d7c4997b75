import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, keys, type ReleaseIssueKind } from '../../api';
import { StatusBadge } from '../../components/Badges';
import { RelativeTime } from '../../components/Time';
import { EmptyState } from '../../components/states';
import { QueryTable } from '../../components/Table';
import { formatCount } from '../../lib/format';
import { seg } from '../../lib/url';

const EMPTY: Record<ReleaseIssueKind, string> = {
  new: 'No issue was first seen in this release.',
  regressed: 'No issue came back with this release.',
};

/** The issues a release brought (new) or brought back (regressed), the most frequent first. */
export function ReleaseIssues({ pid, release, which }: { pid: string; release: string; which: ReleaseIssueKind }) {
  const list = useQuery({
    queryKey: keys.releaseIssues(pid, release, which),
    queryFn: ({ signal }) => api.releases.issues(pid, release, which, signal),
  });
  return (
    <QueryTable
      query={list}
      label="Loading issues…"
      empty={<EmptyState title={EMPTY[which]} testId={`release-${which}-empty`} />}
      testId={`release-${which}-issues`}
      head={
        <>
          <th>Issue</th>
          <th>Status</th>
          <th className="col-num">Events</th>
          <th className="col-num">Users</th>
          <th className="col-time">Last seen</th>
        </>
      }
    >
      {(issues) =>
        issues.map((issue) => (
          <tr key={issue.id} data-testid="release-issue-row">
            <td>
              <Link to={`/p/${seg(pid)}/issues/${seg(issue.id)}`} className="issue-title">
                {issue.title}
              </Link>
              {issue.culprit && <div className="muted mono">{issue.culprit}</div>}
            </td>
            <td>
              <StatusBadge status={issue.status} />
            </td>
            <td className="col-num">{formatCount(issue.eventCount)}</td>
            <td className="col-num">{formatCount(issue.userCount)}</td>
            <td className="col-time">
              <RelativeTime value={issue.lastSeen} />
            </td>
          </tr>
        ))
      }
    </QueryTable>
  );
}
