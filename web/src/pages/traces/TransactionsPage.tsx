import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { api, keys, type Schema } from '../../api';
import { PageHeader } from '../../components/PageHeader';
import { DateTime } from '../../components/Time';
import { EmptyState, QueryState } from '../../components/states';
import { Table } from '../../components/Table';
import { useDocumentTitle } from '../../components/useDocumentTitle';
import { formatCount, formatPercent } from '../../lib/format';
import { formatDuration } from '../../lib/time';
import { seg } from '../../lib/url';
import { TraceTabs } from './TraceTabs';

/** The charts' periods; 14 days is what traces are kept for by default. */
const PERIODS: Array<{ value: Schema<'HistogramPeriod'>; label: string }> = [
  { value: '24h', label: 'Last 24 hours' },
  { value: '14d', label: 'Last 14 days' },
  { value: '90d', label: 'Last 90 days' },
];

function readPeriod(params: URLSearchParams): Schema<'HistogramPeriod'> {
  const period = params.get('period');
  return PERIODS.find((p) => p.value === period)?.value ?? '24h';
}

/** Traces grouped by their root span's name; a row opens the traces list filtered by that name. */
export function TransactionsPage() {
  useDocumentTitle('Transactions', 'Traces');
  const { pid = '' } = useParams();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const period = readPeriod(params);
  const summary = useQuery({
    queryKey: keys.transactions(pid, period),
    queryFn: ({ signal }) => api.traces.transactions(pid, period, signal),
  });
  const tracesOf = (rootName: string) => `/p/${seg(pid)}/traces?${new URLSearchParams({ name: rootName })}`;

  return (
    <div className="page">
      <PageHeader title="Traces" subtitle="Requests, navigations and jobs your SDKs recorded as spans." />
      <TraceTabs pid={pid} />
      <div className="filters">
        <select
          value={period}
          onChange={(e) => setParams(e.target.value === '24h' ? {} : { period: e.target.value })}
          aria-label="Period"
          data-testid="transactions-period"
        >
          {PERIODS.map((p) => (
            <option key={p.value} value={p.value}>
              {p.label}
            </option>
          ))}
        </select>
        {summary.data && (
          <span className="muted">
            Traces started since <DateTime value={summary.data.since} />, grouped by their root span's name.
          </span>
        )}
      </div>
      <QueryState
        query={summary}
        label="Loading transactions…"
        isEmpty={({ transactions }) => transactions.length === 0}
        empty={<EmptyState title="No traces with a root span started in this period." testId="transactions-empty" />}
      >
        {({ transactions }) => (
          <Table
            testId="transactions-table"
            head={
              <>
                <th>Transaction</th>
                <th className="col-num">Traces</th>
                <th className="col-num">p50</th>
                <th className="col-num">p95</th>
                <th className="col-num">p99</th>
                <th className="col-num" title="Share of its traces with a failed span">
                  Error rate
                </th>
              </>
            }
          >
            {transactions.map((t) => (
              <tr key={t.rootName} className="row-link" onClick={() => navigate(tracesOf(t.rootName))} data-testid="transaction-row">
                <td>
                  <Link to={tracesOf(t.rootName)} onClick={(e) => e.stopPropagation()} data-testid="transaction-link">
                    {t.rootName}
                  </Link>
                </td>
                <td className="col-num" data-testid="transaction-count">
                  {formatCount(t.traceCount)}
                </td>
                <td className="col-num">{formatDuration(t.p50Ms)}</td>
                <td className="col-num">{formatDuration(t.p95Ms)}</td>
                <td className="col-num">{formatDuration(t.p99Ms)}</td>
                <td className={`col-num${t.failedCount ? ' text-danger' : ''}`} title={`${t.failedCount} of ${t.traceCount} failed`}>
                  {formatPercent(t.errorRate)}
                </td>
              </tr>
            ))}
          </Table>
        )}
      </QueryState>
    </div>
  );
}
