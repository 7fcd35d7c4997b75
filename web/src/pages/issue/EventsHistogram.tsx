import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, keys, type IssueHistogram, type Schema } from '../../api';
import { ErrorState, Loading } from '../../components/states';
import { formatCount } from '../../lib/format';
import { BucketChart, PeriodSwitch, spanOf } from '../../components/BucketChart';

function events(count: number): string {
  return `${formatCount(count)} ${count === 1 ? 'event' : 'events'}`;
}

/** The issue's events over one period, drawn wide. */
export function HistogramChart({ histogram }: { histogram: IssueHistogram }) {
  const counts = histogram.buckets.map((b) => b.count);
  const total = counts.reduce((sum, c) => sum + c, 0);
  const peak = counts.reduce((m, c) => Math.max(m, c), 0);
  return (
    <BucketChart
      testId="issue-histogram"
      bucket={histogram.bucket}
      starts={histogram.buckets.map((b) => b.start)}
      values={counts}
      describe={(count) => events(count ?? 0)}
      summary={`${events(total)} in ${spanOf(histogram.period)}, peak ${formatCount(peak)} in one ${histogram.bucket}`}
    />
  );
}

/** The issue page's events histogram with its 24 h / 14 d / 90 d switch. */
export function EventsHistogram({ pid, iid }: { pid: string; iid: string }) {
  const [period, setPeriod] = useState<Schema<'HistogramPeriod'>>('24h');
  const histogram = useQuery({
    queryKey: keys.issueHistogram(pid, iid, period),
    queryFn: ({ signal }) => api.issues.histogram(pid, iid, period, signal),
  });
  return (
    <section className="issue-histogram">
      <div className="histogram-head">
        <h3>Events by time</h3>
        <PeriodSwitch period={period} onChange={setPeriod} testId="histogram" />
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
