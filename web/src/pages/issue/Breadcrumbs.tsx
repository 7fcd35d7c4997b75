import type { Schema } from '../../api';
import { plainValue } from '../../lib/format';
import { formatClock } from '../../lib/time';
import { safeHttpUrl } from '../../lib/url';

/** A crumb's URL as a link only when it is plain http(s); anything else stays text. */
function CrumbValue({ name, value }: { name: string; value: unknown }) {
  const text = plainValue(value);
  const href = name === 'url' ? safeHttpUrl(value) : null;
  if (!href) return <span className="crumb-value">{text}</span>;
  return (
    <a className="crumb-value" href={href} target="_blank" rel="noopener noreferrer nofollow">
      {text}
    </a>
  );
}

function CrumbData({ data }: { data: unknown }) {
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    const entries = Object.entries(data as Record<string, unknown>);
    if (entries.length === 0) return null;
    return (
      <span className="crumb-data">
        {entries.map(([k, v]) => (
          <span className="crumb-pair" key={k}>
            <span className="crumb-key">{k}</span> <CrumbValue name={k} value={v} />
          </span>
        ))}
      </span>
    );
  }
  return <span className="crumb-data">{plainValue(data)}</span>;
}

export function Breadcrumbs({ crumbs }: { crumbs: Schema<'Breadcrumb'>[] }) {
  if (crumbs.length === 0) return <p className="muted">No breadcrumbs were recorded before this event.</p>;
  return (
    <table className="table table-compact crumbs" data-testid="breadcrumbs">
      <tbody>
        {crumbs.map((c, i) => (
          <tr key={i} data-testid="breadcrumb">
            <td className="crumb-time mono">{formatClock(c.timestamp)}</td>
            <td className="crumb-type">
              <span className={`badge badge-crumb-${['nav', 'net', 'log', 'user', 'custom'].includes(c.type ?? '') ? c.type : 'other'}`}>{c.type}</span>
            </td>
            <td>
              <CrumbData data={c.data} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
