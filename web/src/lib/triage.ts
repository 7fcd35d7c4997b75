// What the triage parts of the dashboard say about an issue: how long its
// silence lasts, and each entry of its activity log in words.
import type { Issue, Schema } from '../api/types';
import { formatDateTime } from './time';

/** "until 2026-12-07 15:00:00 or 87 more events", or null when not silenced for a while. */
export function silenceSummary(issue: Pick<Issue, 'status' | 'silencedUntil' | 'silencedUntilEventCount' | 'eventCount'>): string | null {
  if (issue.status !== 'silenced') return null;
  const parts: string[] = [];
  if (issue.silencedUntil) parts.push(formatDateTime(issue.silencedUntil));
  if (issue.silencedUntilEventCount != null) {
    const left = Math.max(0, issue.silencedUntilEventCount - issue.eventCount);
    parts.push(`${left} more event${left === 1 ? '' : 's'}`);
  }
  return parts.length ? `until ${parts.join(' or ')}` : 'until reopened';
}

const STATUS_WORDS: Record<string, string> = { active: 'reopened', resolved: 'resolved', silenced: 'silenced', regressed: 'regressed' };

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th';
  return `${n}${suffix}`;
}

/** One entry of an issue's activity log, as a sentence without its actor. */
export function activityText(entry: Pick<Schema<'ActivityEntry'>, 'kind' | 'data'>): string {
  const d = entry.data;
  switch (entry.kind) {
    case 'firstSeen':
      return d.release ? `First event, in release ${d.release}` : 'First event';
    case 'regressed': {
      const time = d.occurrence ? ` (${ordinal(d.occurrence)} time)` : '';
      return d.release ? `Regressed in release ${d.release}${time}` : `Regressed${time}`;
    }
    case 'silenceEnded':
      return d.reason === 'time' ? 'Silence ended: its time was up' : 'Silence ended: the events it waited for arrived';
    case 'status': {
      let text = `${STATUS_WORDS[d.to ?? ''] ?? `Set to ${d.to}`}`;
      text = text.charAt(0).toUpperCase() + text.slice(1);
      if (d.resolvedInRelease) text += ` in release ${d.resolvedInRelease}`;
      const until = [d.silencedUntil && formatDateTime(d.silencedUntil), d.silencedUntilEventCount != null && `${d.silencedUntilEventCount} events in all`]
        .filter(Boolean)
        .join(' or ');
      if (d.to === 'silenced') text += until ? ` until ${until}` : ' until reopened';
      return d.from && d.from !== d.to ? `${text} (was ${d.from})` : text;
    }
    case 'assigned':
      if (d.to && d.from) return `Reassigned from ${d.from} to ${d.to}`;
      if (d.to) return `Assigned to ${d.to}`;
      return d.from ? `Unassigned (was ${d.from})` : 'Unassigned';
    case 'merged': {
      const count = d.eventCount != null ? `, ${d.eventCount} event${d.eventCount === 1 ? '' : 's'}` : '';
      return `Merged ${d.shortId ?? 'an issue'} into this one (${d.title ?? 'untitled'}${count})`;
    }
    default:
      return String(entry.kind);
  }
}

/** Who wrote the entry: the processor, the dashboard, or a named admin token. */
export function activityActor(entry: Pick<Schema<'ActivityEntry'>, 'actor' | 'actorName'>): string {
  if (entry.actor === 'token') return entry.actorName ? `token ${entry.actorName}` : 'an admin token';
  return entry.actor;
}
