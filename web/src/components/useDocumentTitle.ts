import { useEffect } from 'react';
import { documentTitle } from '../lib/title';

/** Sets the tab title while the calling page is shown. */
export function useDocumentTitle(...parts: Array<string | null | undefined>): void {
  const title = documentTitle(...parts);
  useEffect(() => {
    document.title = title;
  }, [title]);
}
