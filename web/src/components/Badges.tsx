import type { Schema } from '../api';

const STATUS_LABEL: Record<Schema<'IssueStatus'>, string> = {
  active: 'Active',
  regressed: 'Regressed',
  resolved: 'Resolved',
  silenced: 'Silenced',
};

export function StatusBadge({ status }: { status: Schema<'IssueStatus'> }) {
  const label = STATUS_LABEL[status] ?? String(status);
  return (
    <span className={`badge badge-status-${STATUS_LABEL[status] ? status : 'other'}`} data-testid="issue-status">
      {label}
    </span>
  );
}

const LEVELS = new Set(['fatal', 'error', 'warning', 'info', 'debug']);

/** A coloured bar for the level; unknown levels get a neutral colour. */
export function LevelMark({ level }: { level: Schema<'Level'> | null | undefined }) {
  const known = level && LEVELS.has(level) ? level : 'other';
  return <span className={`level-mark level-${known}`} title={level ?? 'no level'} aria-label={`level ${level ?? 'none'}`} />;
}

export function KindBadge({ kind }: { kind: string }) {
  if (kind === 'error') return null;
  const label = kind === 'anr' ? 'ANR' : kind === 'nearCrash' ? 'near crash' : kind;
  return <span className="badge badge-kind">{label}</span>;
}

export function SpanStatusBadge({ status }: { status: Schema<'SpanStatus'> }) {
  const known = status === 'ok' || status === 'error' || status === 'cancelled' ? status : 'other';
  return <span className={`badge badge-span-${known}`}>{status}</span>;
}
