import type { Breadcrumb } from '../../api';
import { plainValue } from '../../lib/format';
import { formatClock } from '../../lib/time';

function CrumbData({ data }: { data: unknown }) {
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    const entries = Object.entries(data as Record<string, unknown>);
    if (entries.length === 0) return null;
    return (
      <span className="crumb-data">
        {entries.map(([k, v]) => (
          <span className="crumb-pair" key={k}>
            <span className="crumb-key">{k}</span> <span className="crumb-value">{plainValue(v)}</span>
          </span>
        ))}
      </span>
    );
  }
  return <span className="crumb-data">{plainValue(data)}</span>;
}

export function Breadcrumbs({ crumbs }: { crumbs: Breadcrumb[] }) {
  if (crumbs.length === 0) return <p className="muted">No breadcrumbs were recorded before this event.</p>;
  return (
    <table className="table table-compact crumbs" data-testid="breadcrumbs">
      <tbody>
        {crumbs.map((c, i) => (
          <tr key={i} data-testid="breadcrumb">
            <td className="crumb-time mono">{formatClock(c.timestamp)}</td>
            <td className="crumb-type">
              <span className={`badge badge-crumb-${['nav', 'net', 'log', 'user', 'custom'].includes(c.type) ? c.type : 'other'}`}>{c.type}</span>
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
