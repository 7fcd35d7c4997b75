import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, keys, type HistogramPeriod, type IssueHistogram } from '../../api';
import { ErrorState, Loading } from '../../components/states';
import { formatCount } from '../../lib/format';
import { sparkline } from '../../lib/sparkline';
import { formatDateTime } from '../../lib/time';

const WIDTH = 280;
const HEIGHT = 56;

const PERIODS: { period: HistogramPeriod; label: string; span: string }[] = [
  { period: '24h', label: '24 h', span: 'the last 24 hours' },
  { period: '14d', label: '14 d', span: 'the last 14 days' },
  { period: '90d', label: '90 d', span: 'the last 90 days' },
];

function spanOf(period: HistogramPeriod): string {
  return PERIODS.find((p) => p.period === period)?.span ?? period;
}

function events(count: number): string {
  return `${formatCount(count)} ${count === 1 ? 'event' : 'events'}`;
}

/** A bucket's name on hover: its local hour, or its UTC day (the buckets are UTC days). */
export function bucketLabel(start: string, bucket: IssueHistogram['bucket']): string {
  return bucket === 'hour' ? formatDateTime(start).slice(0, 16) : `${start.slice(0, 10)} (UTC)`;
}

/**
 * The issue's events over one period: the issue list's trend line, drawn
 * wide, with one hover column per bucket naming its time and count.
 */
export function HistogramChart({ histogram }: { histogram: IssueHistogram }) {
  const counts = histogram.buckets.map((b) => b.count);
  const s = sparkline(counts, WIDTH, HEIGHT, 2);
  const column = counts.length > 0 ? WIDTH / counts.length : WIDTH;
  const summary = `${events(s.total)} in ${spanOf(histogram.period)}, peak ${formatCount(s.max)} in one ${histogram.bucket}`;
  const first = histogram.buckets[0];
  return (
    <figure className="histogram" data-testid="issue-histogram" data-total={s.total}>
      <svg
        className="sparkline histogram-chart"
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={summary}
      >
        {s.area && <path d={s.area} className="sparkline-area" />}
        {s.line && <path d={s.line} className="sparkline-line" />}
        {histogram.buckets.map((b, i) => (
          <rect key={b.start} className="histogram-bucket" x={i * column} y={0} width={column} height={HEIGHT} data-testid="histogram-bucket">
            <title>{`${bucketLabel(b.start, histogram.bucket)}: ${events(b.count)}`}</title>
          </rect>
        ))}
      </svg>
      <figcaption className="histogram-caption muted">
        <span>{first ? bucketLabel(first.start, histogram.bucket) : ''}</span>
        <span data-testid="histogram-summary">{summary}</span>
      </figcaption>
    </figure>
  );
}

/** The issue page's events histogram with its 24 h / 14 d / 90 d switch. */
export function EventsHistogram({ pid, iid }: { pid: string; iid: string }) {
  const [period, setPeriod] = useState<HistogramPeriod>('24h');
  const histogram = useQuery({
    queryKey: keys.issueHistogram(pid, iid, period),
    queryFn: ({ signal }) => api.issues.histogram(pid, iid, period, signal),
  });
  return (
    <section className="issue-histogram">
      <div className="histogram-head">
        <h3>Events by time</h3>
        <div className="segmented" role="group" aria-label="Period">
          {PERIODS.map((p) => (
            <button
              key={p.period}
              type="button"
              className={`segmented-option${p.period === period ? ' segmented-active' : ''}`}
              aria-pressed={p.period === period}
              onClick={() => setPeriod(p.period)}
              data-testid={`histogram-${p.period}`}
            >
              {p.label}
            </button>
          ))}
        </div>
      </div>
      {histogram.data ? (
        <HistogramChart histogram={histogram.data} />
      ) : histogram.isPending ? (
        <Loading label="Loading events…" />
      ) : (
        <ErrorState error={histogram.error} onRetry={() => histogram.refetch()} />
      )}
    </section>
  );
}
