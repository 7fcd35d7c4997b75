import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link, useParams } from 'react-router';
import { ApiError, api, keys, type Span, type TraceEvent } from '../../api';
import { SpanStatusBadge } from '../../components/Badges';
import { KeyValues, PageHeader } from '../../components/PageHeader';
import { DateTime } from '../../components/Time';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { plainValue } from '../../lib/format';
import { formatDuration } from '../../lib/time';
import { seg } from '../../lib/url';
import { axisTicks, layoutWaterfall, type WaterfallRow } from '../../lib/waterfall';

function SpanDetail({ span }: { span: Span }) {
  const tags = Object.entries(span.tags ?? {});
  const data = Object.entries(span.data ?? {});
  return (
    <div className="span-detail" data-testid="span-detail">
      <KeyValues
        rows={[
          ['Operation', <span className="mono">{span.op}</span>],
          ['Name', span.name],
          ['Status', <SpanStatusBadge status={span.status} />],
          ['Started', <DateTime value={span.startedAt} />],
          ['Duration', formatDuration(span.durationMs)],
          ['Span ID', <span className="mono">{span.id}</span>],
          ['Parent', span.parentSpanId ? <span className="mono">{span.parentSpanId}</span> : 'none (root)'],
          ['traceparent', span.traceparent ? <span className="mono">{span.traceparent}</span> : null],
        ]}
      />
      {tags.length > 0 && (
        <ul className="chips">
          {tags.map(([k, v]) => (
            <li key={k} className="chip">
              <span className="chip-key">{k}</span>
              <span className="chip-value">{plainValue(v)}</span>
            </li>
          ))}
        </ul>
      )}
      {data.length > 0 && <pre className="span-data">{JSON.stringify(span.data, null, 2)}</pre>}
    </div>
  );
}

function Waterfall({ pid, spans, events }: { pid: string; spans: Span[]; events: TraceEvent[] }) {
  const layout = useMemo(() => layoutWaterfall(spans), [spans]);
  const ticks = useMemo(() => axisTicks(layout.totalMs), [layout.totalMs]);
  const [selected, setSelected] = useState<string | null>(null);
  const eventsBySpan = useMemo(() => {
    const map = new Map<string, TraceEvent[]>();
    for (const e of events) {
      if (!e.spanId) continue;
      map.set(e.spanId, [...(map.get(e.spanId) ?? []), e]);
    }
    return map;
  }, [events]);

  const row = (r: WaterfallRow<Span>) => {
    const errs = eventsBySpan.get(r.span.id) ?? [];
    const isSelected = selected === r.span.id;
    return (
      <li key={r.span.id} className={`wf-row${isSelected ? ' wf-row-selected' : ''}`} data-testid="waterfall-row" data-span-id={r.span.id}>
        <button type="button" className="wf-line" onClick={() => setSelected(isSelected ? null : r.span.id)} aria-expanded={isSelected}>
          <span className="wf-label" style={{ paddingLeft: `${8 + Math.min(r.depth, 12) * 14}px` }} title={`${r.span.op} — ${r.span.name}`}>
            <span className="mono wf-op">{r.span.op}</span> <span className="wf-name">{r.span.name}</span>
            {r.orphan && <span className="badge" title="Its parent span was not received">orphan</span>}
            {errs.length > 0 && <span className="badge badge-span-error">{errs.length} error{errs.length > 1 ? 's' : ''}</span>}
          </span>
          <span className="wf-track">
            <span
              className={`wf-bar wf-bar-${r.span.status === 'error' || r.span.status === 'cancelled' ? r.span.status : 'ok'}`}
              style={{ left: `${r.offsetPct}%`, width: `${r.widthPct}%` }}
              data-testid="waterfall-bar"
              data-offset-pct={r.offsetPct.toFixed(2)}
              data-width-pct={r.widthPct.toFixed(2)}
            />
            <span className="wf-duration" style={r.offsetPct > 70 ? { right: `${100 - r.offsetPct}%` } : { left: `${r.offsetPct + r.widthPct}%` }}>
              {formatDuration(r.span.durationMs)}
            </span>
          </span>
        </button>
        {isSelected && (
          <div className="wf-detail">
            <SpanDetail span={r.span} />
            {errs.length > 0 && (
              <ul className="wf-errors">
                {errs.map((e) => (
                  <li key={e.id}>
                    <Link to={`/p/${seg(pid)}/issues/${seg(e.issueId)}/events/${seg(e.id)}`} data-testid="trace-error-link">
                      {e.title}
                    </Link>
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
      </li>
    );
  };

  if (layout.rows.length === 0) return <EmptyState title="This trace has no spans stored." />;
  return (
    <div className="waterfall" data-testid="waterfall">
      <div className="wf-axis" aria-hidden="true">
        <span className="wf-label" />
        <span className="wf-track">
          {ticks.map((t) => (
            <span key={t.ms} className="wf-tick" style={{ left: `${t.pct}%` }}>
              {formatDuration(t.ms)}
            </span>
          ))}
        </span>
      </div>
      <ol className="wf-rows">{layout.rows.map(row)}</ol>
    </div>
  );
}

export function TracePage() {
  const { pid = '', traceId = '' } = useParams();
  const trace = useQuery({ queryKey: keys.trace(pid, traceId), queryFn: ({ signal }) => api.traces.get(pid, traceId, signal) });

  if (trace.isPending) return <Loading label="Loading trace…" />;
  if (trace.isError) {
    if (trace.error instanceof ApiError && trace.error.status === 404) {
      return (
        <div className="page">
          <EmptyState title="This trace is not stored." testId="trace-missing">
            Its spans may not have arrived yet, or they passed the trace retention period. <Link to={`/p/${seg(pid)}/traces`}>Back to traces</Link>
          </EmptyState>
        </div>
      );
    }
    return <ErrorState error={trace.error} onRetry={() => trace.refetch()} />;
  }
  const { trace: summary, spans, events } = trace.data;
  return (
    <div className="page" data-testid="trace-page">
      <div className="breadcrumb-nav">
        <Link to={`/p/${seg(pid)}/traces`}>Traces</Link> / <span className="mono">{summary.traceId}</span>
      </div>
      <PageHeader
        title={
          <>
            <span className="mono">{summary.rootOp ?? 'trace'}</span> {summary.rootName ?? ''}
          </>
        }
        subtitle={
          <span className="inline-facts">
            <SpanStatusBadge status={summary.status} /> {formatDuration(summary.durationMs)} · {summary.spanCount} spans ·{' '}
            <span className={summary.errorCount ? 'text-danger' : undefined}>
              {summary.errorCount} error{summary.errorCount === 1 ? '' : 's'}
            </span> · <DateTime value={summary.startedAt} />
          </span>
        }
      />
      <Waterfall pid={pid} spans={spans} events={events} />
      <section className="panel" data-testid="trace-errors">
        <h3>Errors in this trace</h3>
        {events.length === 0 ? (
          <p className="muted">No error events were reported inside this trace.</p>
        ) : (
          <ul className="trace-error-list">
            {events.map((e) => (
              <li key={e.id}>
                <Link to={`/p/${seg(pid)}/issues/${seg(e.issueId)}/events/${seg(e.id)}`} data-testid="trace-error-link">
                  {e.title}
                </Link>
                {e.spanId && <span className="muted mono"> in span {e.spanId}</span>}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
