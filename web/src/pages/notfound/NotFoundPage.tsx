import { Link } from 'react-router';
import { EmptyState } from '../../components/states';

export function NotFoundPage() {
  return (
    <div className="page">
      <EmptyState title="There is no page here." testId="not-found">
        <Link to="/">Go to the dashboard</Link>
      </EmptyState>
    </div>
  );
}
