import type { IssueTags } from '../../api';
import { shares } from '../../lib/format';

const LABELS: Record<string, string> = {
  release: 'Release',
  environment: 'Environment',
  os: 'OS',
  deviceModel: 'Device',
  runtime: 'Browser / runtime',
};
const ORDER = ['release', 'environment', 'os', 'deviceModel', 'runtime'];

export function TagDistribution({ tags }: { tags: IssueTags | null | undefined }) {
  const entries = Object.entries(tags ?? {})
    .filter((e): e is [string, NonNullable<(typeof e)[1]>] => Array.isArray(e[1]) && e[1].length > 0)
    .sort(([a], [b]) => {
      const ia = ORDER.indexOf(a);
      const ib = ORDER.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
    });
  if (entries.length === 0) return <p className="muted">No tag data yet.</p>;
  return (
    <div className="tagdist" data-testid="tag-distribution">
      {entries.map(([key, values]) => (
        <div className="tagdist-group" key={key}>
          <h4>{LABELS[key] ?? key}</h4>
          {shares(values).map((v) => (
            <div className="tagdist-row" key={v.value} title={`${v.value}: ${v.count} events`}>
              <div className="tagdist-bar" style={{ width: `${v.pct}%` }} />
              <span className="tagdist-value">{v.value || '(empty)'}</span>
              <span className="tagdist-pct">{v.pct}%</span>
            </div>
          ))}
        </div>
      ))}
    </div>
  );
}
