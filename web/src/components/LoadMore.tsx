import type { ReactNode } from 'react';
import { InlineError, QueryState } from './states';

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

/**
 * A cursor-paged list (as `usePagedList` answers it): its loading, error and
 * empty states, else its items with the pager under them. A next page that
 * fails leaves the loaded items shown, with the error in the pager.
 */
export function PagedQueryState<T>({
  paged: { list, items },
  label,
  empty,
  end,
  children,
}: {
  paged: { list: PagedList & { isPending: boolean; data: unknown; refetch: () => unknown }; items: T[] };
  label: string;
  empty: ReactNode;
  end?: ReactNode;
  children: (items: T[]) => ReactNode;
}) {
  return (
    <QueryState query={list} label={label} isEmpty={() => items.length === 0} empty={empty}>
      {() => (
        <>
          {children(items)}
          <LoadMore list={list} end={end} />
        </>
      )}
    </QueryState>
  );
}
