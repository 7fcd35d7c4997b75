import { sparkline } from '../lib/sparkline';
import { formatDateTime } from '../lib/time';
import type { Schema } from '../api';

const WIDTH = 280;
const HEIGHT = 56;

export type BucketUnit = 'hour' | 'day';

export const PERIODS: { period: Schema<'HistogramPeriod'>; label: string; span: string }[] = [
  { period: '24h', label: '24 h', span: 'the last 24 hours' },
  { period: '14d', label: '14 d', span: 'the last 14 days' },
  { period: '90d', label: '90 d', span: 'the last 90 days' },
];

export function spanOf(period: Schema<'HistogramPeriod'>): string {
  return PERIODS.find((p) => p.period === period)?.span ?? period;
}

/** A bucket's name on hover: its local hour, or its UTC day (the buckets are UTC days). */
export function bucketLabel(start: string, bucket: BucketUnit): string {
  return bucket === 'hour' ? formatDateTime(start).slice(0, 16) : `${start.slice(0, 10)} (UTC)`;
}

export interface BucketChartProps {
  testId: string;
  bucket: BucketUnit;
  /** Each bucket's first instant, oldest first. */
  starts: readonly string[];
  /** One value per bucket; `null` is a gap (a share of nothing). */
  values: readonly (number | null)[];
  /** A bucket's value in words, for its hover title. */
  describe: (value: number | null) => string;
  summary: string;
  /** Scale to at least this (1 for shares), so 50 % does not fill the chart. */
  ceiling?: number;
}

/** A wide sparkline with one hover column per bucket naming its time and value. */
export function BucketChart({ testId, bucket, starts, values, describe, summary, ceiling = 0 }: BucketChartProps) {
  const s = sparkline(values, WIDTH, HEIGHT, 2, ceiling);
  const column = values.length > 0 ? WIDTH / values.length : WIDTH;
  const first = starts[0];
  return (
    <figure className="histogram" data-testid={testId} data-total={s.total}>
      <svg className="sparkline histogram-chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" role="img" aria-label={summary}>
        {s.area && <path d={s.area} className="sparkline-area" />}
        {s.line && <path d={s.line} className="sparkline-line" />}
        {starts.map((start, i) => (
          <rect key={start} className="histogram-bucket" x={i * column} y={0} width={column} height={HEIGHT} data-testid="histogram-bucket">
            <title>{`${bucketLabel(start, bucket)}: ${describe(values[i] ?? null)}`}</title>
          </rect>
        ))}
      </svg>
      <figcaption className="histogram-caption muted">
        <span>{first ? bucketLabel(first, bucket) : ''}</span>
        <span data-testid="histogram-summary">{summary}</span>
      </figcaption>
    </figure>
  );
}

/** The 24 h / 14 d / 90 d switch above a chart. */
export function PeriodSwitch({
  period,
  onChange,
  testId,
}: {
  period: Schema<'HistogramPeriod'>;
  onChange: (p: Schema<'HistogramPeriod'>) => void;
  testId: string;
}) {
  return (
    <div className="segmented" role="group" aria-label="Period">
      {PERIODS.map((p) => (
        <button
          key={p.period}
          type="button"
          className={`segmented-option${p.period === period ? ' segmented-active' : ''}`}
          aria-pressed={p.period === period}
          onClick={() => onChange(p.period)}
          data-testid={`${testId}-${p.period}`}
        >
          {p.label}
        </button>
      ))}
    </div>
  );
}
