import type { ReactNode } from 'react';

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
