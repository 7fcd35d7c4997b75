import type { ReactNode } from 'react';
import { InlineError } from './states';

/** The parts of an infinite query the pager needs. */
interface PagedList {
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => unknown;
  isError: boolean;
  error: unknown;
}

/** The "Load more" button under a cursor-paged list, and its error; `end` shows when there is no next page. */
export function LoadMore({ list, end }: { list: PagedList; end?: ReactNode }) {
  return (
    <div className="pager">
      {list.hasNextPage ? (
        <button type="button" className="btn" onClick={() => list.fetchNextPage()} disabled={list.isFetchingNextPage} data-testid="load-more">
          {list.isFetchingNextPage ? 'Loading…' : 'Load more'}
        </button>
      ) : (
        end
      )}
      {list.isError && <InlineError error={list.error} />}
    </div>
  );
}
