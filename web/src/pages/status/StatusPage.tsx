import { useQuery } from '@tanstack/react-query';
import { api, keys, type Schema } from '../../api';
import { KeyValues, PageHeader } from '../../components/PageHeader';
import { DateTime, RelativeTime } from '../../components/Time';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { Table } from '../../components/Table';
import { formatCount } from '../../lib/format';
import { formatDuration, millisBetween } from '../../lib/time';
import { useDocumentTitle } from '../../components/useDocumentTitle';

// Thresholds for colouring, not alerts: a backlog a processor clears within
// a poll or two is normal; minutes of pending work is not.
const PENDING_AGE_WARN_MS = 60_000;

function StreamRow({ stream }: { stream: Schema<'StreamStats'> }) {
  const stale = (stream.oldestPendingAgeMs ?? 0) > PENDING_AGE_WARN_MS;
  return (
    <tr data-testid="stream-row" data-stream={stream.name}>
      <td>
        <span className="mono">{stream.name}</span>
        {stream.partitions > 1 && <span className="muted"> · {stream.partitions} partitions</span>}
      </td>
      <td className="col-num">{formatCount(stream.length)}</td>
      <td className="col-num">{formatCount(stream.pending)}</td>
      <td className={`col-num${stale ? ' text-warn' : ''}`}>{stream.oldestPendingAgeMs == null ? '—' : formatDuration(stream.oldestPendingAgeMs)}</td>
      <td className={`col-num${stream.deadLetters > 0 ? ' text-danger' : ''}`} data-testid="stream-dead-letters">
        {formatCount(stream.deadLetters)}
      </td>
    </tr>
  );
}

function Retention({ run }: { run: Schema<'RetentionRun'> | null }) {
  if (!run) {
    return (
      <EmptyState title="Retention has not run yet." testId="retention-none">
        The retention service runs at start and once a day; start it to keep partitions ahead and the disk bounded.
      </EmptyState>
    );
  }
  return (
    <KeyValues
      testId="retention-run"
      rows={[
        ['Started', <span><RelativeTime value={run.startedAt} /> · <DateTime value={run.startedAt} /></span>],
        ['Took', run.finishedAt ? formatDuration(millisBetween(run.startedAt, run.finishedAt)) : 'still running'],
        ['Result', run.ok ? <span className="text-ok">ok</span> : <span className="text-danger">{run.error || 'failed'}</span>],
        ['Partitions created', run.createdPartitions?.length ? <span className="mono">{run.createdPartitions.join(', ')}</span> : 'none'],
        ['Partitions dropped', run.droppedPartitions?.length ? <span className="mono">{run.droppedPartitions.join(', ')}</span> : 'none'],
        ['Traces deleted', formatCount(run.deletedTraces)],
        ['Attachments deleted', formatCount(run.deletedAttachments)],
      ]}
    />
  );
}

export function StatusPage() {
  useDocumentTitle('System status');
  const status = useQuery({
    queryKey: keys.status,
    queryFn: ({ signal }) => api.system.status(signal),
    // Live numbers: refresh while the page is open.
    refetchInterval: 10_000,
  });

  return (
    <div className="page">
      <PageHeader
        title="System status"
        subtitle={status.dataUpdatedAt ? <>Updated <RelativeTime value={new Date(status.dataUpdatedAt).toISOString()} />, every 10 s</> : null}
        actions={
          <button type="button" className="btn btn-small" onClick={() => status.refetch()} disabled={status.isFetching}>
            Refresh
          </button>
        }
      />
      {status.isPending ? (
        <Loading label="Loading status…" />
      ) : status.isError ? (
        <ErrorState error={status.error} onRetry={() => status.refetch()} />
      ) : (
        <>
          <div className="stat-pair stat-wide" data-testid="round-trips">
            <div className="stat">
              <div className="stat-value">{formatDuration(status.data.postgresMs)}</div>
              <div className="stat-label">Postgres round trip</div>
            </div>
            <div className="stat">
              <div className="stat-value">{formatDuration(status.data.valkeyMs)}</div>
              <div className="stat-label">Valkey round trip</div>
            </div>
          </div>
          <h2 className="section-title">Streams</h2>
          {status.data.streams.length === 0 ? (
            <EmptyState title="No streams reported." />
          ) : (
            <Table
              testId="streams-table"
              head={
                <>
                  <th>Stream</th>
                  <th className="col-num">Backlog</th>
                  <th className="col-num">Pending</th>
                  <th className="col-num">Oldest pending</th>
                  <th className="col-num">Dead letters</th>
                </>
              }
            >
              {status.data.streams.map((s) => (
                <StreamRow key={s.name} stream={s} />
              ))}
            </Table>
          )}
          <h2 className="section-title">Last retention run</h2>
          <Retention run={status.data.lastRetentionRun ?? null} />
        </>
      )}
    </div>
  );
}
