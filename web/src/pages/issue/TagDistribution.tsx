import { Link } from 'react-router';
import type { IssueTags, Schema } from '../../api';
import { shares } from '../../lib/format';
import { seg } from '../../lib/url';

const LABELS: Record<string, string> = {
  release: 'Release',
  environment: 'Environment',
  os: 'OS',
  deviceModel: 'Device',
  runtime: 'Browser / runtime',
};
const ORDER = ['release', 'environment', 'os', 'deviceModel', 'runtime'];

/**
 * The issue list filtered to a tag value, for the values the list can
 * filter by (release, environment and the SDK's own tags); null otherwise.
 */
export function tagFilterLink(pid: string, key: string, value: string, custom: boolean): string | null {
  const params = new URLSearchParams({ status: 'all' });
  if (custom) params.append('tag', `${key}=${value}`);
  else if (key === 'release' || key === 'environment') params.set(key, value);
  else return null;
  return `/p/${seg(pid)}/issues?${params.toString()}`;
}

function Group({ pid, name, label, values, custom }: { pid: string; name: string; label: string; values: Schema<'TagValue'>[]; custom: boolean }) {
  return (
    <div className="tagdist-group" data-testid={custom ? 'custom-tag' : undefined}>
      <h4 className={custom ? 'mono' : undefined}>{label}</h4>
      {shares(values).map((v) => {
        const to = v.value ? tagFilterLink(pid, name, v.value, custom) : null;
        const text = <span className="tagdist-value">{v.value || '(empty)'}</span>;
        return (
          <div className="tagdist-row" key={v.value} title={`${v.value}: ${v.count} events`}>
            <div className="tagdist-bar" style={{ width: `${v.pct}%` }} />
            {to ? (
              <Link to={to} className="tagdist-link" title={`Issues with ${name} = ${v.value}`} data-testid="tag-filter-link">
                {text}
              </Link>
            ) : (
              text
            )}
            <span className="tagdist-pct">{v.pct}%</span>
          </div>
        );
      })}
    </div>
  );
}

export function TagDistribution({ pid, tags, customTags }: {
  pid: string;
  tags: IssueTags | null | undefined;
  customTags?: Record<string, Schema<'TagValue'>[]> | null;
}) {
  const entries = Object.entries(tags ?? {})
    .filter((e): e is [string, NonNullable<(typeof e)[1]>] => Array.isArray(e[1]) && e[1].length > 0)
    .sort(([a], [b]) => {
      const ia = ORDER.indexOf(a);
      const ib = ORDER.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
    });
  const custom = Object.entries(customTags ?? {}).filter(([, values]) => Array.isArray(values) && values.length > 0);
  if (entries.length === 0 && custom.length === 0) return <p className="muted">No tag data yet.</p>;
  return (
    <div className="tagdist" data-testid="tag-distribution">
      {entries.map(([key, values]) => (
        <Group key={key} pid={pid} name={key} label={LABELS[key] ?? key} values={values} custom={false} />
      ))}
      {custom.map(([key, values]) => (
        <Group key={`tag:${key}`} pid={pid} name={key} label={key} values={values} custom />
      ))}
    </div>
  );
}
