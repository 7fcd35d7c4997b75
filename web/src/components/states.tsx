// Loading, error and empty states, so every page says what is going on in
// the same words and places.
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { ApiError } from '../api';

export function Loading({ label = 'Loading…', full = false }: { label?: string; full?: boolean }) {
  return (
    <div className={`state state-loading${full ? ' state-full' : ''}`} role="status" data-testid="loading">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}

/** The API's message and field details, as plain text. */
export function ErrorText({ error }: { error: unknown }) {
  const details = error instanceof ApiError ? error.details : [];
  const hint = error instanceof ApiError ? error.hint : null;
  return (
    <>
      <span className="error-message">{errorMessage(error)}</span>
      {details.length > 0 && (
        <ul className="error-details">
          {details.map((d, i) => (
            <li key={i}>
              {d.field ? <code>{d.field}</code> : null}
              {d.field ? ': ' : null}
              {d.message}
            </li>
          ))}
        </ul>
      )}
      {hint && <div className="error-hint">{hint}</div>}
    </>
  );
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && error.isNotFound;
}

/**
 * Something the address names is not there (or the address cannot name
 * anything): say so and offer a way out instead of the server's parse error.
 */
export function NotFoundState({
  title = 'Nothing was found at this address.',
  back = { to: '/', label: 'Go to the dashboard' },
  testId = 'not-found',
  children,
}: {
  title?: string;
  back?: { to: string; label: string };
  testId?: string;
  children?: ReactNode;
}) {
  return (
    <EmptyState title={title} testId={testId}>
      {children}
      {children ? ' ' : null}
      <Link to={back.to}>{back.label}</Link>
    </EmptyState>
  );
}

/** A failed load with a retry; a not-found answer gets the not-found state, since retrying cannot help. */
export function ErrorState({ error, onRetry, full = false }: { error: unknown; onRetry?: () => void; full?: boolean }) {
  if (isNotFound(error)) return <NotFoundState />;
  return (
    <div className={`state state-error${full ? ' state-full' : ''}`} role="alert" data-testid="error">
      <strong>Could not load this.</strong> <ErrorText error={error} />
      {onRetry && (
        <div>
          <button type="button" className="btn btn-small" onClick={onRetry}>
            Try again
          </button>
        </div>
      )}
    </div>
  );
}

/** An inline error under a form or action; nothing if there is no error. */
export function InlineError({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <div className="inline-error" role="alert" data-testid="inline-error">
      <ErrorText error={error} />
    </div>
  );
}

export function EmptyState({ title, children, testId }: { title: string; children?: ReactNode; testId?: string }) {
  return (
    <div className="state state-empty" data-testid={testId ?? 'empty'}>
      <strong>{title}</strong>
      {children && <div className="state-body">{children}</div>}
    </div>
  );
}

/** The parts of a query result the list states need. */
export interface ListQuery<T> {
  isPending: boolean;
  isError: boolean;
  data: T | undefined;
  error: unknown;
  refetch: () => unknown;
}

/**
 * A query's loading, error, empty or loaded state. When a refetch or a next
 * page fails, what was loaded stays shown (a pager shows the error) unless
 * `errorHidesData`.
 */
export function QueryState<T>({
  query,
  label,
  isEmpty,
  empty,
  errorHidesData = false,
  children,
}: {
  query: ListQuery<T>;
  label: string;
  isEmpty: (data: T) => boolean;
  empty: ReactNode;
  errorHidesData?: boolean;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <Loading label={label} />;
  if (query.data === undefined || (errorHidesData && query.isError)) return <ErrorState error={query.error} onRetry={() => query.refetch()} />;
  if (isEmpty(query.data)) return empty;
  return children(query.data);
}
