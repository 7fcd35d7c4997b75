import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { api, keys, usePagedList, type TraceQuery } from '../../api';
import { SpanStatusBadge } from '../../components/Badges';
import { PageHeader } from '../../components/PageHeader';
import { RelativeTime } from '../../components/Time';
import { PagedQueryState } from '../../components/LoadMore';
import { EmptyState } from '../../components/states';
import { Table } from '../../components/Table';
import { formatDuration } from '../../lib/time';
import { seg } from '../../lib/url';
import { useDocumentTitle } from '../../components/useDocumentTitle';
import { TraceTabs } from './TraceTabs';

const STATUSES = ['', 'ok', 'error', 'cancelled'];

type TextFilter = 'op' | 'name' | 'service';

/** The filters typed as text, in the form's order; each applies on submit. */
const TEXT_FILTERS: Array<{ key: TextFilter; placeholder: string; label: string; testId: string }> = [
  { key: 'op', placeholder: 'Operation, e.g. http.server', label: 'Operation', testId: 'trace-op-filter' },
  { key: 'name', placeholder: 'Transaction, e.g. GET /cart', label: "Transaction (the root span's name)", testId: 'trace-name-filter' },
  { key: 'service', placeholder: 'Service, e.g. checkout-api', label: 'Service', testId: 'trace-service-filter' },
];

function textFiltersOf(query: TraceQuery): Record<TextFilter, string> {
  return { op: query.op ?? '', name: query.name ?? '', service: query.service ?? '' };
}

function readQuery(params: URLSearchParams): TraceQuery {
  const query: TraceQuery = {};
  const op = params.get('op')?.trim();
  if (op) query.op = op;
  // Exactly as the transaction summary names it: a root name may end in a space.
  const name = params.get('name');
  if (name) query.name = name;
  const status = params.get('status');
  if (status && STATUSES.includes(status)) query.status = status;
  const min = Number(params.get('minDurationMs'));
  if (params.get('minDurationMs') && Number.isFinite(min) && min > 0) query.minDurationMs = Math.floor(min);
  const service = params.get('service')?.trim();
  if (service) query.service = service;
  return query;
}

export function TracesPage() {
  useDocumentTitle('Traces');
  const { pid = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const query = useMemo(() => readQuery(params), [params]);
  // What the text fields hold until submitted; the URL's values when it changes.
  const [texts, setTexts] = useState(() => textFiltersOf(query));
  useEffect(() => setTexts(textFiltersOf(query)), [query]);
  const [min, setMin] = useState(query.minDurationMs ? String(query.minDurationMs) : '');
  useEffect(() => setMin(query.minDurationMs ? String(query.minDurationMs) : ''), [query.minDurationMs]);

  const apply = (patch: Partial<Record<TextFilter | 'status' | 'minDurationMs', string>>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    setParams(next);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    apply({ op: texts.op.trim(), name: texts.name, service: texts.service.trim(), minDurationMs: min.trim() });
  };

  const traces = usePagedList(keys.traces(pid, query), (cursor, signal) => api.traces.list(pid, query, cursor, signal));
  const filtered = Object.keys(query).length > 0;

  return (
    <div className="page">
      <PageHeader title="Traces" subtitle="Requests, navigations and jobs your SDKs recorded as spans." />
      <TraceTabs pid={pid} />
      <form className="filters" onSubmit={submit} role="search" data-testid="trace-filters">
        {TEXT_FILTERS.map((f) => (
          <input
            key={f.key}
            placeholder={f.placeholder}
            value={texts[f.key]}
            onChange={(e) => setTexts((current) => ({ ...current, [f.key]: e.target.value }))}
            aria-label={f.label}
            data-testid={f.testId}
          />
        ))}
        <select value={query.status ?? ''} onChange={(e) => apply({ status: e.target.value })} aria-label="Status" data-testid="trace-status-filter">
          <option value="">Any status</option>
          <option value="ok">ok</option>
          <option value="error">error</option>
          <option value="cancelled">cancelled</option>
        </select>
        <label className="filters-sort">
          Slower than
          <input
            type="number"
            min={0}
            step={1}
            className="filters-num"
            value={min}
            onChange={(e) => setMin(e.target.value)}
            aria-label="Minimum duration in milliseconds"
            data-testid="trace-min-duration"
          />
          ms
        </label>
        <button type="submit" className="btn">
          Apply
        </button>
      </form>

      <PagedQueryState
        paged={traces}
        label="Loading traces…"
        empty={
          <EmptyState title={filtered ? 'No traces match these filters.' : 'No traces yet.'} testId="traces-empty">
            {filtered ? (
              <button type="button" className="btn btn-small" onClick={() => setParams(new URLSearchParams())}>
                Clear filters
              </button>
            ) : (
              'Enable tracing in your SDK (or set SENTORI_SELF_TRACE_PROJECT_ID to trace Sentori itself) and spans will be grouped into traces here.'
            )}
          </EmptyState>
        }
      >
        {(rows) => (
          <Table
            testId="traces-table"
            head={
              <>
                <th>Root</th>
                <th>Status</th>
                <th className="col-num">Duration</th>
                <th className="col-num">Spans</th>
                <th className="col-num">Errors</th>
                <th className="col-time">Started</th>
              </>
            }
          >
            {rows.map((t) => (
              <tr key={t.traceId} data-testid="trace-row">
                <td>
                  <Link to={`/p/${seg(pid)}/traces/${seg(t.traceId)}`} className="trace-root">
                    <span className="mono trace-op">{t.rootOp ?? '(no root span)'}</span> {t.rootName ?? <span className="mono muted">{t.traceId}</span>}
                  </Link>
                  {(t.services ?? []).map((name) => (
                    <button
                      key={name}
                      type="button"
                      className="badge badge-service"
                      title={`Only traces through ${name}`}
                      onClick={() => apply({ service: name })}
                      data-testid="trace-service"
                    >
                      {name}
                    </button>
                  ))}
                </td>
                <td>
                  <SpanStatusBadge status={t.status} />
                </td>
                <td className="col-num">{formatDuration(t.durationMs)}</td>
                <td className="col-num">{t.spanCount}</td>
                <td className={`col-num${t.errorCount ? ' text-danger' : ''}`}>{t.errorCount}</td>
                <td className="col-time">
                  <RelativeTime value={t.startedAt} />
                </td>
              </tr>
            ))}
          </Table>
        )}
      </PagedQueryState>
    </div>
  );
}
