import { sparkline } from '../lib/sparkline';

const WIDTH = 72;
const HEIGHT = 20;

/** The 24-hour trend of an issue, one point per hour, oldest on the left. */
export function Sparkline({ values }: { values: readonly number[] | null | undefined }) {
  const data = values ?? [];
  const s = sparkline(data, WIDTH, HEIGHT);
  const label = `${s.total} events in the last 24 hours, peak ${s.max} in one hour`;
  return (
    <svg className="sparkline" width={WIDTH} height={HEIGHT} viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={label} data-testid="sparkline">
      <title>{label}</title>
      {s.area && <path d={s.area} className="sparkline-area" />}
      {s.line && <path d={s.line} className="sparkline-line" />}
    </svg>
  );
}
