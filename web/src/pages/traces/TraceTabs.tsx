import { NavLink } from 'react-router';
import { seg } from '../../lib/url';

const tabClass = ({ isActive }: { isActive: boolean }) => `tab${isActive ? ' tab-active' : ''}`;

/** The two views of a project's traces: one row a trace, or one row a root span name. */
export function TraceTabs({ pid }: { pid: string }) {
  return (
    <nav className="tabs" aria-label="Trace views">
      <NavLink end to={`/p/${seg(pid)}/traces`} className={tabClass} data-testid="traces-tab-list">
        Traces
      </NavLink>
      <NavLink to={`/p/${seg(pid)}/traces/transactions`} className={tabClass} data-testid="traces-tab-transactions">
        Transactions
      </NavLink>
    </nav>
  );
}
