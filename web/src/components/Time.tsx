import { formatDateTime, formatRelative } from '../lib/time';

/** Relative time with the exact timestamp on hover. */
export function RelativeTime({ value, testId }: { value: string | null | undefined; testId?: string }) {
  if (!value) return <span className="muted">—</span>;
  return (
    <time dateTime={value} title={formatDateTime(value)} data-testid={testId}>
      {formatRelative(value)}
    </time>
  );
}

export function DateTime({ value }: { value: string | null | undefined }) {
  if (!value) return <span className="muted">—</span>;
  return <time dateTime={value}>{formatDateTime(value)}</time>;
}
