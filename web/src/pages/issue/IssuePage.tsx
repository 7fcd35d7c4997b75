import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Link, useParams, useSearchParams } from 'react-router';
import { api, keys, type IssueDetail, type SentoriEvent } from '../../api';
import { KindBadge, LevelMark, StatusBadge } from '../../components/Badges';
import { KeyValues } from '../../components/PageHeader';
import { Truncated } from '../../components/Truncated';
import { DateTime, RelativeTime } from '../../components/Time';
import { LoadMore } from '../../components/LoadMore';
import { EmptyState, ErrorState, Loading, NotFoundState, isNotFound } from '../../components/states';
import { useDocumentTitle } from '../../components/useDocumentTitle';
import { formatCount } from '../../lib/format';
import { seg } from '../../lib/url';
import { EventsHistogram } from './EventsHistogram';
import { EventView } from './EventView';
import { StatusActions } from './StatusActions';
import { TagDistribution } from './TagDistribution';

function EventNav({ base, issue, event }: { base: string; issue: IssueDetail; event: SentoriEvent | undefined }) {
  const link = (id: string | null | undefined, label: string, title: string, testId: string) =>
    id && id !== event?.id ? (
      <Link className="btn btn-small" to={`${base}/events/${seg(id)}`} title={title} data-testid={testId}>
        {label}
      </Link>
    ) : (
      <span className="btn btn-small btn-disabled" aria-disabled="true" title={title} data-testid={testId}>
        {label}
      </span>
    );
  return (
    <div className="event-nav" data-testid="event-nav">
      {link(issue.oldestEventId, '« Oldest', 'The first event of this issue', 'event-oldest')}
      {link(event?.previousEventId, '‹ Previous', 'The next older event', 'event-previous')}
      {link(event?.nextEventId, 'Next ›', 'The next newer event', 'event-next')}
      {link(issue.latestEventId, 'Newest »', 'The latest event of this issue', 'event-newest')}
    </div>
  );
}

function EventsList({ pid, issueId, base }: { pid: string; issueId: string; base: string }) {
  const list = useInfiniteQuery({
    queryKey: keys.issueEvents(pid, issueId),
    queryFn: ({ pageParam, signal }) => api.issues.events(pid, issueId, pageParam, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  if (list.isPending) return <Loading label="Loading events…" />;
  if (!list.data) return <ErrorState error={list.error} onRetry={() => list.refetch()} />;
  const rows = list.data.pages.flatMap((p) => p.items);
  if (rows.length === 0) return <EmptyState title="No events are stored for this issue." />;
  return (
    <>
      <table className="table" data-testid="issue-events">
        <thead>
          <tr>
            <th>When</th>
            <th>Event</th>
            <th>Release</th>
            <th>Env</th>
            <th>Device</th>
            <th>User</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <tr key={e.id} data-testid="issue-event-row">
              <td className="col-time">
                <RelativeTime value={e.timestamp} />
              </td>
              <td>
                <Link to={`${base}/events/${seg(e.id)}`}>{e.title || e.id}</Link>
              </td>
              <td>
                <Truncated value={e.release ?? ''} mono />
              </td>
              <td>
                <Truncated value={e.environment ?? ''} />
              </td>
              <td>
                <Truncated value={[e.os, e.osVersion, e.deviceModel].filter(Boolean).join(' ')} />
              </td>
              <td>
                <Truncated value={e.userId ?? ''} mono testId="event-row-user" />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <LoadMore list={list} />
    </>
  );
}

/** A release name kept whole on one line (never broken inside `app@1.2.3+45`), copyable, linking to its page. */
function release(pid: string, name: string | null | undefined) {
  return name ? <Truncated value={name} mono copy to={`/p/${seg(pid)}/releases/${seg(name)}`} testId="release-link" /> : null;
}

function Sidebar({ pid, issue }: { pid: string; issue: IssueDetail }) {
  return (
    <aside className="issue-side">
      <div className="stat-pair">
        <div className="stat" data-testid="issue-event-count">
          <div className="stat-value">{formatCount(issue.eventCount)}</div>
          <div className="stat-label">events</div>
        </div>
        <div className="stat" data-testid="issue-user-count">
          <div className="stat-value">{formatCount(issue.userCount)}</div>
          <div className="stat-label">users</div>
        </div>
      </div>
      <EventsHistogram pid={pid} iid={issue.id} />
      <KeyValues
        testId="issue-facts"
        rows={[
          ['First seen', <span><RelativeTime value={issue.firstSeen} /> · <DateTime value={issue.firstSeen} /></span>],
          ['Last seen', <span><RelativeTime value={issue.lastSeen} /> · <DateTime value={issue.lastSeen} /></span>],
          ['First release', release(pid, issue.firstRelease)],
          ['Last release', release(pid, issue.lastRelease)],
          ['Environment', issue.lastEnvironment ? <Truncated value={issue.lastEnvironment} /> : null],
          ['Resolved in', release(pid, issue.resolvedInRelease)],
          ['Regressed', issue.regressedAt ? <RelativeTime value={issue.regressedAt} /> : null],
        ]}
      />
      <h3 className="side-head">Tags</h3>
      <TagDistribution pid={pid} tags={issue.tags} customTags={issue.customTags} />
      <h3 className="side-head">Grouping</h3>
      <div className="fingerprint" data-testid="fingerprint">
        <p className="muted">Events with the same components land in this issue.</p>
        <ol className="fingerprint-components">
          {(issue.fingerprint ?? []).map((c, i) => (
            <li key={i} className="mono" data-testid="fingerprint-component">
              {c}
            </li>
          ))}
        </ol>
        {issue.fingerprintHash && <div className="mono muted fingerprint-hash">{issue.fingerprintHash}</div>}
      </div>
    </aside>
  );
}

export function IssuePage() {
  const { pid = '', iid = '', eid } = useParams();
  const [params, setParams] = useSearchParams();
  const tab = params.get('tab') === 'events' ? 'events' : 'event';
  const base = `/p/${seg(pid)}/issues/${seg(iid)}`;

  const issue = useQuery({ queryKey: keys.issue(pid, iid), queryFn: ({ signal }) => api.issues.get(pid, iid, signal) });
  useDocumentTitle(issue.data?.title ?? (issue.isError ? 'Issue not found' : 'Issue'), 'Issues');
  const eventId = eid ?? issue.data?.latestEventId ?? null;
  const event = useQuery({
    queryKey: keys.event(pid, eventId ?? ''),
    queryFn: ({ signal }) => api.events.get(pid, eventId!, signal),
    enabled: !!eventId && tab === 'event',
  });

  if (issue.isPending) return <Loading label="Loading issue…" />;
  if (issue.isError) {
    if (isNotFound(issue.error)) {
      return (
        <div className="page">
          <NotFoundState title="This issue does not exist (any more)." back={{ to: `/p/${seg(pid)}/issues`, label: 'Back to issues' }} testId="issue-missing" />
        </div>
      );
    }
    return <ErrorState error={issue.error} onRetry={() => issue.refetch()} />;
  }
  const data = issue.data;

  return (
    <div className="page issue-page" data-testid="issue-page">
      <div className="breadcrumb-nav">
        <Link to={`/p/${seg(pid)}/issues`}>Issues</Link> / <span className="mono">{data.shortId}</span>
      </div>
      <header className="issue-header">
        <div className="issue-header-title">
          <LevelMark level={data.level} />
          <h1 data-testid="issue-title">{data.title}</h1>
        </div>
        <div className="issue-header-meta">
          <StatusBadge status={data.status} />
          <KindBadge kind={data.kind} />
          {data.type && <span className="mono">{data.type}</span>}
          {data.culprit && (
            <span className="issue-culprit mono" data-testid="issue-culprit">
              {data.culprit}
            </span>
          )}
        </div>
        <StatusActions pid={pid} issue={data} />
      </header>

      <div className="issue-body">
        <div className="issue-main">
          <div className="issue-tabs">
            <nav className="tabs" aria-label="Issue view">
              <button type="button" className={`tab${tab === 'event' ? ' tab-active' : ''}`} onClick={() => setParams({})} data-testid="tab-event">
                Event
              </button>
              <button
                type="button"
                className={`tab${tab === 'events' ? ' tab-active' : ''}`}
                onClick={() => setParams({ tab: 'events' })}
                data-testid="tab-events"
              >
                All events
              </button>
            </nav>
            {tab === 'event' && <EventNav base={base} issue={data} event={event.data} />}
          </div>
          {tab === 'events' ? (
            <EventsList pid={pid} issueId={iid} base={base} />
          ) : !eventId ? (
            <EmptyState title="No event is stored for this issue." testId="no-event">
              Its events may have passed the retention period.
            </EmptyState>
          ) : event.isPending ? (
            <Loading label="Loading event…" />
          ) : event.isError && isNotFound(event.error) ? (
            <NotFoundState title="This event is not stored (any more)." back={{ to: base, label: 'Show the latest event' }} testId="event-missing" />
          ) : event.isError ? (
            <ErrorState error={event.error} onRetry={() => event.refetch()} />
          ) : (
            <EventView pid={pid} event={event.data} />
          )}
        </div>
        <Sidebar pid={pid} issue={data} />
      </div>
    </div>
  );
}
