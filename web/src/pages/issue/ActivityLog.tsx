import { Link } from 'react-router';
import { api, keys, usePagedList } from '../../api';
import { PagedQueryState } from '../../components/LoadMore';
import { DateTime, RelativeTime } from '../../components/Time';
import { EmptyState } from '../../components/states';
import { activityActor, activityText } from '../../lib/triage';
import { seg } from '../../lib/url';

/** What happened to the issue, newest first, and who did it. */
export function ActivityLog({ pid, issueId, base }: { pid: string; issueId: string; base: string }) {
  const activity = usePagedList(keys.issueActivity(pid, issueId), (cursor, signal) => api.issues.activity(pid, issueId, cursor, signal));
  return (
    <PagedQueryState paged={activity} label="Loading activity…" empty={<EmptyState title="Nothing has happened to this issue yet." />}>
      {(entries) => (
        <ol className="activity" data-testid="activity-log">
          {entries.map((entry) => (
            <li key={entry.id} className={`activity-entry activity-${entry.actor}`} data-testid="activity-entry" data-kind={entry.kind}>
              <span className="activity-text">
                {activityText(entry)}
                {entry.kind === 'firstSeen' && entry.data.eventId && (
                  <>
                    {' '}
                    <Link to={`${base}/events/${seg(entry.data.eventId)}`}>view</Link>
                  </>
                )}
              </span>
              <span className="activity-meta muted">
                by {activityActor(entry)} · <RelativeTime value={entry.at} /> · <DateTime value={entry.at} />
              </span>
            </li>
          ))}
        </ol>
      )}
    </PagedQueryState>
  );
}
