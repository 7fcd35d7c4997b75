import type { ReactNode } from 'react';
import { QueryState, type ListQuery } from './states';

/** A list as a table: one row of column heads (`<th>`s), then the body rows. */
export function Table({ testId, className, head, children }: { testId: string; className?: string; head: ReactNode; children: ReactNode }) {
  return (
    <table className={className ? `table ${className}` : 'table'} data-testid={testId}>
      <thead>
        <tr>{head}</tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}

/**
 * An unpaged list query as a table, with its loading, error and empty states.
 * The lists that load in one request all want the same thing: an empty array
 * is the empty state, and a failed refetch shows the error rather than rows
 * that may no longer be true (a paged list keeps them and shows the error in
 * its pager: `PagedQueryState`). It lives here, not in states.tsx, so that the
 * states stay free of table markup. `above` stands over the table only while
 * rows are shown, e.g. the error of an action taken on a row.
 */
export function QueryTable<T>({
  query,
  label,
  empty,
  testId,
  className,
  head,
  above,
  children,
}: {
  query: ListQuery<T[]>;
  label: string;
  empty: ReactNode;
  testId: string;
  className?: string;
  head: ReactNode;
  above?: ReactNode;
  children: (rows: T[]) => ReactNode;
}) {
  return (
    <QueryState query={query} label={label} isEmpty={(rows) => rows.length === 0} empty={empty} errorHidesData>
      {(rows) => (
        <>
          {above}
          <Table testId={testId} className={className} head={head}>
            {children(rows)}
          </Table>
        </>
      )}
    </QueryState>
  );
}
