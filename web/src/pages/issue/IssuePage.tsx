import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { api, issueQuery, keys, shownEventQuery, usePagedList, type Schema, type SentoriEvent } from '../../api';
import { KindBadge, LevelMark, StatusBadge } from '../../components/Badges';
import { ConfirmButton, CopyButton } from '../../components/Buttons';
import { Shortcuts, type Shortcut } from '../../components/Shortcuts';
import { KeyValues } from '../../components/PageHeader';
import { Truncated } from '../../components/Truncated';
import { DateTime, RelativeTime } from '../../components/Time';
import { PagedQueryState } from '../../components/LoadMore';
import { EmptyState, ErrorState, InlineError, Loading, NotFoundState, isNotFound } from '../../components/states';
import { Table } from '../../components/Table';
import { useDocumentTitle } from '../../components/useDocumentTitle';
import { formatCount } from '../../lib/format';
import { silenceSummary } from '../../lib/triage';
import { seg } from '../../lib/url';
import { ActivityLog } from './ActivityLog';
import { AssigneeControl } from './AssigneeControl';
import { EventsHistogram } from './EventsHistogram';
import { EventView } from './EventView';
import { MergeControl } from './MergeControl';
import { StatusActions, useIssueUpdate } from './StatusActions';
import { TagDistribution } from './TagDistribution';

/** The stored event as JSON, without the neighbours the API adds for navigation. */
function eventJson(event: SentoriEvent): string {
  const { previousEventId: _previous, nextEventId: _next, ...stored } = event;
  return JSON.stringify(stored, null, 2);
}

function EventNav({ base, issue, event }: { base: string; issue: Schema<'IssueDetail'>; event: SentoriEvent | undefined }) {
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
      {event && <CopyButton text={eventJson(event)} label="Copy JSON" testId="copy-event-json" />}
    </div>
  );
}

function EventsList({ pid, issueId, base }: { pid: string; issueId: string; base: string }) {
  const events = usePagedList(keys.issueEvents(pid, issueId), (cursor, signal) => api.issues.events(pid, issueId, cursor, signal));
  return (
    <PagedQueryState paged={events} label="Loading events…" empty={<EmptyState title="No events are stored for this issue." />}>
      {(rows) => (
        <Table
          testId="issue-events"
          head={
            <>
              <th>When</th>
              <th>Event</th>
              <th>Release</th>
              <th>Env</th>
              <th>Device</th>
              <th>User</th>
            </>
          }
        >
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
        </Table>
      )}
    </PagedQueryState>
  );
}

/** A release name kept whole on one line (never broken inside `app@1.2.3+45`), copyable, linking to its page. */
function release(pid: string, name: string | null | undefined) {
  return name ? <Truncated value={name} mono copy to={`/p/${seg(pid)}/releases/${seg(name)}`} testId="release-link" /> : null;
}

function Sidebar({ pid, issue }: { pid: string; issue: Schema<'IssueDetail'> }) {
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
          ['Assignee', <AssigneeControl pid={pid} issue={issue} />],
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
        {issue.mergedFingerprints.length > 0 && (
          <>
            <p className="muted">Events of the issues merged into this one land here too:</p>
            <ul className="fingerprint-merged" data-testid="merged-fingerprints">
              {issue.mergedFingerprints.map((f) => (
                <li key={f} className="mono muted">
                  {f}
                </li>
              ))}
            </ul>
          </>
        )}
      </div>
    </aside>
  );
}

const TABS = ['event', 'events', 'activity'] as const;
type Tab = (typeof TABS)[number];

/** Delete, merge and a permalink: what triage does to the issue as a whole. */
function IssueTools({ pid, issue, shortcuts }: { pid: string; issue: Schema<'IssueDetail'>; shortcuts: Shortcut[] }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: () => api.issues.remove(pid, issue.id),
    onSuccess: async () => {
      queryClient.removeQueries({ queryKey: keys.issue(pid, issue.id) });
      await queryClient.invalidateQueries({ queryKey: keys.issues(pid) });
      navigate(`/p/${seg(pid)}/issues`);
    },
  });
  const permalink = `${window.location.origin}/p/${seg(pid)}/issues/${seg(issue.id)}`;
  return (
    <div className="issue-tools" data-testid="issue-tools">
      <CopyButton text={permalink} label="Copy link" testId="copy-permalink" />
      <MergeControl pid={pid} issue={issue} />
      <ConfirmButton confirmLabel="Delete it and its events?" onConfirm={() => remove.mutate()} disabled={remove.isPending} testId="issue-delete">
        Delete
      </ConfirmButton>
      <Shortcuts shortcuts={shortcuts} />
      <InlineError error={remove.error} />
    </div>
  );
}

export function IssuePage() {
  const { pid = '', iid = '', eid } = useParams();
  const [params, setParams] = useSearchParams();
  const tab: Tab = TABS.find((t) => t === params.get('tab')) ?? 'event';
  const base = `/p/${seg(pid)}/issues/${seg(iid)}`;
  const navigate = useNavigate();
  const update = useIssueUpdate(pid, iid);

  const issue = useQuery(issueQuery(pid, iid));
  useDocumentTitle(issue.data?.title ?? (issue.isError ? 'Issue not found' : 'Issue'), 'Issues');
  // Without an event in the path the page shows the newest, asked for
  // beside the issue rather than after it (one round trip, not two).
  const event = useQuery({ ...shownEventQuery(pid, iid, eid), enabled: tab === 'event' });
  const eventMissing = event.isError && isNotFound(event.error);
  const goToEvent = (id: string | null | undefined) => id && navigate(`${base}/events/${seg(id)}`);
  const shortcuts: Shortcut[] = [
    { keys: ['j'], label: 'Older event', run: () => goToEvent(event.data?.previousEventId) },
    { keys: ['k'], label: 'Newer event', run: () => goToEvent(event.data?.nextEventId) },
    { keys: ['r'], label: 'Resolve', run: () => issue.data?.status !== 'resolved' && update.mutate({ status: 'resolved' }) },
    { keys: ['s'], label: 'Silence until reopened', run: () => issue.data?.status !== 'silenced' && update.mutate({ status: 'silenced' }) },
    { keys: ['/'], label: 'Search issues', run: () => navigate(`/p/${seg(pid)}/issues`, { state: { focusSearch: true } }) },
  ];

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
  const silence = silenceSummary(data);

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
          {silence && (
            <span className="muted" data-testid="issue-silence">
              {silence}
            </span>
          )}
          <KindBadge kind={data.kind} />
          {data.type && <span className="mono">{data.type}</span>}
          {data.culprit && (
            <span className="issue-culprit mono" data-testid="issue-culprit">
              {data.culprit}
            </span>
          )}
        </div>
        <StatusActions pid={pid} issue={data} />
        <IssueTools pid={pid} issue={data} shortcuts={shortcuts} />
        <InlineError error={update.error} />
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
              <button
                type="button"
                className={`tab${tab === 'activity' ? ' tab-active' : ''}`}
                onClick={() => setParams({ tab: 'activity' })}
                data-testid="tab-activity"
              >
                Activity
              </button>
            </nav>
            {tab === 'event' && <EventNav base={base} issue={data} event={event.data} />}
          </div>
          {tab === 'events' ? (
            <EventsList pid={pid} issueId={iid} base={base} />
          ) : tab === 'activity' ? (
            <ActivityLog pid={pid} issueId={iid} base={base} />
          ) : !eid && eventMissing ? (
            <EmptyState title="No event is stored for this issue." testId="no-event">
              Its events may have passed the retention period.
            </EmptyState>
          ) : event.isPending ? (
            <Loading label="Loading event…" />
          ) : eventMissing ? (
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
