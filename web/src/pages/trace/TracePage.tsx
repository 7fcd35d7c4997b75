import { useInfiniteQuery } from '@tanstack/react-query';
import { type UIEvent, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { ApiError, api, keys, type Schema } from '../../api';
import { SpanStatusBadge } from '../../components/Badges';
import { LoadMore } from '../../components/LoadMore';
import { KeyValues, PageHeader } from '../../components/PageHeader';
import { DateTime } from '../../components/Time';
import { EmptyState, ErrorState, Loading, NotFoundState, isNotFound } from '../../components/states';
import { useDocumentTitle } from '../../components/useDocumentTitle';
import { plainValue } from '../../lib/format';
import { formatDuration } from '../../lib/time';
import { seg } from '../../lib/url';
import {
  axisTicks,
  layoutWaterfall,
  revealSpan,
  visibleRows,
  visibleTree,
  type WaterfallLayout,
  type WaterfallRow,
} from '../../lib/waterfall';

/** The OpenTelemetry span kind an OTLP span arrived with (`data["otel.kind"]`, protocol.md "OTLP"). */
export function spanKind(span: Schema<'Span'>): string | null {
  const kind = span.data?.['otel.kind'];
  return typeof kind === 'string' && kind ? kind : null;
}

/** The status message an OTLP span arrived with. */
function statusMessage(span: Schema<'Span'>): string | null {
  const message = span.data?.['otel.status.message'];
  return typeof message === 'string' && message ? message : null;
}

/** The `?span=` link that selects a span of this trace (and scrolls the waterfall to it). */
function spanLink(spanId: string): string {
  return `?span=${encodeURIComponent(spanId)}`;
}

/** The parent span: a link to its row when it is in the trace, else its id as sent. */
function ParentSpan({ row }: { row: WaterfallRow<Schema<'Span'>> }) {
  if (row.parentId) {
    return (
      <Link to={spanLink(row.parentId)} className="mono" data-testid="span-parent-link">
        {row.parentId}
      </Link>
    );
  }
  if (!row.span.parentSpanId) return <>none (root)</>;
  return (
    <>
      <span className="mono">{row.span.parentSpanId}</span> <span className="muted">(not received)</span>
    </>
  );
}

function SpanDetail({ row }: { row: WaterfallRow<Schema<'Span'>> }) {
  const span = row.span;
  const tags = Object.entries(span.tags ?? {});
  const data = Object.entries(span.data ?? {});
  return (
    <div className="span-detail" data-testid="span-detail">
      <KeyValues
        rows={[
          ['Operation', <span className="mono">{span.op}</span>],
          ['Name', span.name],
          ['Kind', spanKind(span)],
          [
            'Status',
            <>
              <SpanStatusBadge status={span.status} /> {statusMessage(span) && <span className="muted">{statusMessage(span)}</span>}
            </>,
          ],
          ['Started', <DateTime value={span.startedAt} />],
          ['Duration', formatDuration(span.durationMs)],
          ['Span ID', <span className="mono">{span.id}</span>],
          ['Parent', <ParentSpan row={row} />],
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

/** Row height in px: fixed, so the rows on screen follow from the scroll position alone. */
const ROW_HEIGHT = 28;
/** Indentation per level of the tree, in px, up to 12 levels. */
const INDENT = 14;
/** Spans fetched without asking (ten pages); past that, "Load more" fetches a page at a time. */
const AUTO_LOADED_SPANS = 10_000;

/** The scroll position and height of a scrolling element, kept current. */
function useScrollViewport() {
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(640);
  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return;
    const measure = () => setHeight(element.clientHeight);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  const onScroll = (e: UIEvent<HTMLDivElement>) => setScrollTop(e.currentTarget.scrollTop);
  return { ref, scrollTop, height, onScroll };
}

/** Error events as links to them; `withSpan` adds the span each happened in. */
function ErrorList({
  pid,
  errors,
  className,
  withSpan = false,
}: {
  pid: string;
  errors: Schema<'TraceEvent'>[];
  className: string;
  withSpan?: boolean;
}) {
  return (
    <ul className={className}>
      {errors.map((e) => (
        <li key={e.id}>
          <Link to={`/p/${seg(pid)}/issues/${seg(e.issueId)}/events/${seg(e.id)}`} data-testid="trace-error-link">
            {e.title}
          </Link>
          {withSpan && e.spanId && <span className="muted mono"> in span {e.spanId}</span>}
        </li>
      ))}
    </ul>
  );
}

/**
 * Which span is selected (`?span=` in the address, so a parent link and a
 * shared link select one too) and which subtrees are folded. Selecting a
 * span opens the subtrees it is in and scrolls its row into view once.
 */
function useWaterfallState(layout: WaterfallLayout<Schema<'Span'>>, viewport: ReturnType<typeof useScrollViewport>) {
  const [params, setParams] = useSearchParams();
  const selected = params.get('span');
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  const rows = useMemo(() => visibleTree(layout.rows, collapsed), [layout.rows, collapsed]);
  const select = useCallback(
    (spanId: string | null) =>
      setParams(
        (current) => {
          const next = new URLSearchParams(current);
          if (spanId) next.set('span', spanId);
          else next.delete('span');
          return next;
        },
        { replace: true },
      ),
    [setParams],
  );
  const toggle = useCallback(
    (spanId: string) =>
      setCollapsed((current) => {
        const next = new Set(current);
        if (!next.delete(spanId)) next.add(spanId);
        return next;
      }),
    [],
  );
  const collapseAll = () => setCollapsed(new Set(layout.rows.filter((r) => r.childCount > 0).map((r) => r.span.id)));
  const expandAll = () => setCollapsed(new Set());

  // The span to scroll to once its row is laid out (it may be on a page
  // still loading): set when the selection changes, not when a fold
  // elsewhere or a new page moves the rows. Layout effects, in this order,
  // so the scroll below sees it in the same commit.
  const scrollTo = useRef<string | null>(null);
  useLayoutEffect(() => {
    scrollTo.current = selected;
  }, [selected]);
  useLayoutEffect(() => {
    if (selected) setCollapsed((current) => revealSpan(layout.rows, current, selected));
  }, [selected, layout.rows]);
  useLayoutEffect(() => {
    const element = viewport.ref.current;
    const target = scrollTo.current;
    if (!element || !target) return;
    const index = rows.findIndex((r) => r.span.id === target);
    if (index < 0) return;
    scrollTo.current = null;
    const top = index * ROW_HEIGHT;
    if (top < element.scrollTop || top + ROW_HEIGHT > element.scrollTop + element.clientHeight) {
      element.scrollTop = Math.max(0, top - element.clientHeight / 2);
    }
  }, [rows, selected, viewport.ref]);

  return { rows, selected, select, collapsed, toggle, collapseAll, expandAll };
}

/**
 * The waterfall of a trace that may hold 100 000 spans: only the rows in
 * view (and a few either side) are in the DOM; the list keeps the full
 * height so the scrollbar is true. The selected span's detail is shown
 * under the list, so every row keeps the same height.
 */
function Waterfall({ pid, layout, events }: { pid: string; layout: WaterfallLayout<Schema<'Span'>>; events: Schema<'TraceEvent'>[] }) {
  const ticks = useMemo(() => axisTicks(layout.totalMs), [layout.totalMs]);
  const viewport = useScrollViewport();
  const { rows, selected, select, collapsed, toggle, collapseAll, expandAll } = useWaterfallState(layout, viewport);
  const eventsBySpan = useMemo(() => {
    const map = new Map<string, Schema<'TraceEvent'>[]>();
    for (const e of events) {
      if (!e.spanId) continue;
      const list = map.get(e.spanId);
      if (list) list.push(e);
      else map.set(e.spanId, [e]);
    }
    return map;
  }, [events]);
  const selectedRow = useMemo(
    () => (selected === null ? undefined : layout.rows.find((r) => r.span.id === selected)),
    [layout, selected],
  );
  const { start, end } = visibleRows(viewport.scrollTop, viewport.height, ROW_HEIGHT, rows.length);
  const hasSubtrees = layout.rows.some((r) => r.childCount > 0);

  const row = (r: WaterfallRow<Schema<'Span'>>, index: number) => {
    const errs = eventsBySpan.get(r.span.id) ?? [];
    const isSelected = selected === r.span.id;
    const isCollapsed = collapsed.has(r.span.id);
    const indent = 4 + Math.min(r.depth, 12) * INDENT;
    return (
      <li
        key={r.span.id}
        className={`wf-row${isSelected ? ' wf-row-selected' : ''}`}
        style={{ top: index * ROW_HEIGHT, height: ROW_HEIGHT }}
        data-testid="waterfall-row"
        data-span-id={r.span.id}
      >
        <button type="button" className="wf-line" onClick={() => select(isSelected ? null : r.span.id)} aria-pressed={isSelected}>
          <span className="wf-label" style={{ paddingLeft: `${indent + 18}px` }} title={`${r.span.op} — ${r.span.name}`}>
            <span className="mono wf-op">{r.span.op}</span> <span className="wf-name">{r.span.name}</span>
            {spanKind(r.span) && (
              <span className="badge wf-kind" data-testid="waterfall-kind">
                {spanKind(r.span)}
              </span>
            )}
            {r.span.status !== 'ok' && (
              <span data-testid="waterfall-status">
                <SpanStatusBadge status={r.span.status} />
              </span>
            )}
            {r.orphan && <span className="badge" title="Its parent span was not received">orphan</span>}
            {errs.length > 0 && <span className="badge badge-span-error">{errs.length} error{errs.length > 1 ? 's' : ''}</span>}
            {isCollapsed && (
              <span className="badge" data-testid="waterfall-hidden">
                +{r.descendantCount}
              </span>
            )}
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
        {r.childCount > 0 && (
          <button
            type="button"
            className="wf-toggle"
            style={{ left: indent }}
            onClick={() => toggle(r.span.id)}
            aria-expanded={!isCollapsed}
            aria-label={`${isCollapsed ? 'Expand' : 'Collapse'} the ${r.descendantCount} spans under ${r.span.name}`}
            title={isCollapsed ? `Show the ${r.descendantCount} spans under it` : 'Hide the spans under it'}
            data-testid="waterfall-toggle"
          >
            {isCollapsed ? '▸' : '▾'}
          </button>
        )}
      </li>
    );
  };

  const selectedErrors = selectedRow ? (eventsBySpan.get(selectedRow.span.id) ?? []) : [];
  return (
    <div className="waterfall" data-testid="waterfall">
      {hasSubtrees && (
        <div className="wf-tools">
          <button type="button" className="btn-link" onClick={collapseAll} data-testid="waterfall-collapse-all">
            Collapse all
          </button>
          <button type="button" className="btn-link" onClick={expandAll} disabled={collapsed.size === 0} data-testid="waterfall-expand-all">
            Expand all
          </button>
        </div>
      )}
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
      <div className="wf-viewport" ref={viewport.ref} onScroll={viewport.onScroll} data-testid="waterfall-viewport">
        <ol className="wf-rows" style={{ height: rows.length * ROW_HEIGHT }}>
          {rows.slice(start, end).map((r, i) => row(r, start + i))}
        </ol>
      </div>
      {selectedRow && (
        <div className="wf-detail">
          <SpanDetail row={selectedRow} />
          {selectedErrors.length > 0 && <ErrorList pid={pid} errors={selectedErrors} className="wf-errors" />}
        </div>
      )}
    </div>
  );
}

export function TracePage() {
  const { pid = '', traceId = '' } = useParams();
  const detail = useInfiniteQuery({
    queryKey: keys.trace(pid, traceId),
    queryFn: ({ pageParam, signal }) => api.traces.get(pid, traceId, pageParam, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const pages = detail.data?.pages;
  const spans = useMemo(() => pages?.flatMap((p) => p.body.spans) ?? [], [pages]);
  const layout = useMemo(() => layoutWaterfall(spans), [spans]);
  const root = pages?.[0]?.body.trace;
  useDocumentTitle(root ? [root.rootOp, root.rootName].filter(Boolean).join(' ') || 'Trace' : 'Trace', 'Traces');
  const { hasNextPage, isFetchingNextPage, isFetchNextPageError, fetchNextPage } = detail;
  // Pages arrive one after another, each re-laying out what is loaded, up
  // to a bound; a larger trace continues on request.
  useEffect(() => {
    if (hasNextPage && !isFetchingNextPage && !isFetchNextPageError && spans.length < AUTO_LOADED_SPANS) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, isFetchNextPageError, spans.length, fetchNextPage]);

  if (detail.isPending) return <Loading label="Loading trace…" />;
  // An error with pages loaded is a failed next page, shown by the pager.
  if (!pages) {
    const back = { to: `/p/${seg(pid)}/traces`, label: 'Back to traces' };
    if (detail.error instanceof ApiError && detail.error.status === 404) {
      return (
        <div className="page">
          <NotFoundState title="This trace is not stored." back={back} testId="trace-missing">
            Its spans may not have arrived yet, or they passed the trace retention period.
          </NotFoundState>
        </div>
      );
    }
    if (isNotFound(detail.error)) {
      return (
        <div className="page">
          <NotFoundState title="This address does not name a trace." back={back} />
        </div>
      );
    }
    return <ErrorState error={detail.error} onRetry={() => detail.refetch()} />;
  }
  const { trace: summary, events } = pages[0]!.body;
  const spanCount = pages[pages.length - 1]!.body.spanCount;
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
            <SpanStatusBadge status={summary.status} />{' '}
            <span title="From the earliest span's start to the latest span's end" data-testid="trace-duration">
              {formatDuration(summary.durationMs)}
            </span>{' '}
            · {spanCount} span{spanCount === 1 ? '' : 's'}
            {summary.failedSpanCount > 0 && (
              <>
                {' '}
                · {summary.failedSpanCount} failed span{summary.failedSpanCount === 1 ? '' : 's'}
              </>
            )}{' '}
            ·{' '}
            <a href="#trace-errors" className={summary.errorCount ? 'text-danger' : 'muted'} data-testid="trace-error-count">
              {summary.errorCount} error{summary.errorCount === 1 ? '' : 's'}
            </a>{' '}
            · <DateTime value={summary.startedAt} />
          </span>
        }
      />
      {layout.rows.length === 0 && !hasNextPage ? (
        <EmptyState title="This trace has no spans stored." />
      ) : (
        <Waterfall pid={pid} layout={layout} events={events} />
      )}
      {(hasNextPage || isFetchNextPageError) && (
        <div data-testid="trace-span-progress">
          <p className="muted">
            Showing {spans.length} of {spanCount} spans.
          </p>
          <LoadMore
            list={{ hasNextPage: !!hasNextPage, isFetchingNextPage, fetchNextPage, isError: isFetchNextPageError, error: detail.error }}
          />
        </div>
      )}
      <section className="panel" id="trace-errors" data-testid="trace-errors">
        <h3>Errors in this trace</h3>
        {events.length === 0 ? (
          <p className="muted">No error events were reported inside this trace.</p>
        ) : (
          <ErrorList pid={pid} errors={events} className="trace-error-list" withSpan />
        )}
      </section>
    </div>
  );
}
