import { NotFoundState } from '../../components/states';
import { useDocumentTitle } from '../../components/useDocumentTitle';

export function NotFoundPage() {
  useDocumentTitle('Not found');
  return (
    <div className="page">
      <NotFoundState title="There is no page here." />
    </div>
  );
}
