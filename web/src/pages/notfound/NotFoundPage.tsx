import { NotFoundState } from '../../components/states';
import { useDocumentTitle } from '../../components/useDocumentTitle';

export function NotFoundPage() {
  useDocumentTitle('Not found');
  return <NotFoundState title="There is no page here." />;
}
