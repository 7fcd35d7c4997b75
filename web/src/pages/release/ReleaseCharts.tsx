import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, keys, type Schema } from '../../api';
import { BucketChart, PeriodSwitch, spanOf } from '../../components/BucketChart';
import { ErrorState, Loading } from '../../components/states';
import { formatCount, formatPercent } from '../../lib/format';
import { overall, releaseCharts } from './releaseSeries';

function counted(noun: string) {
  return (count: number | null) => `${formatCount(count ?? 0)} ${noun}${count === 1 ? '' : 's'}`;
}

function percent(of: string) {
  return (value: number | null) => (value === null ? `no ${of}` : formatPercent(value));
}

function Charts({ series }: { series: Schema<'ReleaseSeries'> }) {
  const { buckets, bucket } = series;
  const starts = buckets.map((b) => b.start);
  const charts = releaseCharts(buckets);
  const span = spanOf(series.period);
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  const sessions = sum(charts.sessions);
  const crashFree = overall(
    buckets.map((b) => b.sessions - b.crashedSessions),
    charts.sessions,
  );
  const adoption =
    charts.adoptionOf === 'sessions'
      ? overall(charts.sessions, buckets.map((b) => b.projectSessions))
      : overall(charts.events, buckets.map((b) => b.projectEvents));
  const common = { bucket, starts };
  return (
    <div className="release-charts">
      <section>
        <h3>Events</h3>
        <BucketChart {...common} testId="release-events-chart" values={charts.events} describe={counted('event')}
          summary={`${counted('event')(sum(charts.events))} in ${span}`} />
      </section>
      <section>
        <h3>Sessions</h3>
        <BucketChart {...common} testId="release-sessions-chart" values={charts.sessions} describe={counted('session')}
          summary={`${counted('session')(sessions)} in ${span}`} />
      </section>
      <section>
        <h3 title="The share of sessions that did not end in a crash, in each bucket.">Crash-free sessions</h3>
        <BucketChart {...common} testId="release-crash-free-sessions-chart" values={charts.crashFreeSessions} ceiling={1}
          describe={percent('sessions')} summary={sessions === 0 ? `no sessions in ${span}` : `${formatPercent(crashFree)} over ${span}`} />
      </section>
      <section>
        <h3 title="The share of users whose sessions in a bucket all ended without a crash.">Crash-free users</h3>
        <BucketChart {...common} testId="release-crash-free-users-chart" values={charts.crashFreeUsers} ceiling={1}
          describe={percent('users with sessions')} summary={`per ${bucket}: users none of whose sessions crashed`} />
      </section>
      <section>
        <h3 title={`This release's share of all the project's ${charts.adoptionOf}.`}>Adoption</h3>
        <BucketChart {...common} testId="release-adoption-chart" values={charts.adoption} ceiling={1} describe={percent(charts.adoptionOf)}
          summary={adoption === null ? `no ${charts.adoptionOf} in ${span}` : `${formatPercent(adoption)} of the project's ${charts.adoptionOf}`} />
      </section>
    </div>
  );
}

/** A release over time: events, sessions, crash-free shares and adoption, with a period switch. */
export function ReleaseChartsPanel({ pid, release }: { pid: string; release: string }) {
  const [period, setPeriod] = useState<Schema<'HistogramPeriod'>>('14d');
  const series = useQuery({
    queryKey: keys.releaseSeries(pid, release, period),
    queryFn: ({ signal }) => api.releases.series(pid, release, period, signal),
  });
  return (
    <section data-testid="release-charts">
      <div className="histogram-head">
        <h2 className="section-title">Over time</h2>
        <PeriodSwitch period={period} onChange={setPeriod} testId="release-period" />
      </div>
      {series.data ? (
        <Charts series={series.data} />
      ) : series.isPending ? (
        <Loading label="Loading the release's numbers…" />
      ) : (
        <ErrorState error={series.error} onRetry={() => series.refetch()} />
      )}
    </section>
  );
}
