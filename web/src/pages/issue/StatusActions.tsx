import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, keys, releasePickerQuery, type Issue, type IssuePatch, type Schema } from '../../api';
import { ReleaseOptions } from '../../components/ReleaseOptions';
import { InlineError } from '../../components/states';

/** Changes one issue (status, silence, assignee) and keeps its page and the lists in step. */
export function useIssueUpdate(pid: string, issueId: string, onDone?: () => void) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (patch: IssuePatch) => api.issues.update(pid, issueId, patch),
    onSuccess: (row: Issue) => {
      // The PATCH answers with the list row; keep the detail-only fields.
      queryClient.setQueryData<Schema<'IssueDetail'>>(keys.issue(pid, issueId), (old) => (old ? { ...old, ...row } : old));
      onDone?.();
      // The lists, the counts and the activity log (under the same key) refetch.
      return queryClient.invalidateQueries({ queryKey: keys.issues(pid) });
    },
  });
}

const HOUR = 3600;
/** The silences offered, besides a number of events of one's own. */
const SILENCES: ReadonlyArray<{ label: string; patch: IssuePatch; testId: string }> = [
  { label: 'Until I reopen it', patch: { status: 'silenced' }, testId: 'silence-forever' },
  { label: 'For 1 hour', patch: { status: 'silenced', silenceForSeconds: HOUR }, testId: 'silence-1h' },
  { label: 'For 24 hours', patch: { status: 'silenced', silenceForSeconds: 24 * HOUR }, testId: 'silence-24h' },
  { label: 'For 7 days', patch: { status: 'silenced', silenceForSeconds: 7 * 24 * HOUR }, testId: 'silence-7d' },
  { label: 'Until 10 more events', patch: { status: 'silenced', silenceForEvents: 10 }, testId: 'silence-10-events' },
  { label: 'Until 100 more events', patch: { status: 'silenced', silenceForEvents: 100 }, testId: 'silence-100-events' },
];

/** Silence until reopened, for a while, or until a number of events arrived. */
function SilenceMenu({ busy, onSilence, onClose }: { busy: boolean; onSilence: (patch: IssuePatch) => void; onClose: () => void }) {
  const [events, setEvents] = useState('');
  const count = Number(events);
  const valid = Number.isInteger(count) && count >= 1 && count <= 1_000_000_000;
  return (
    <div className="silence-menu" role="menu" data-testid="silence-menu">
      {SILENCES.map((option) => (
        <button key={option.testId} type="button" role="menuitem" className="btn btn-small" disabled={busy} onClick={() => onSilence(option.patch)} data-testid={option.testId}>
          {option.label}
        </button>
      ))}
      <form
        className="silence-events"
        onSubmit={(e) => {
          e.preventDefault();
          if (valid) onSilence({ status: 'silenced', silenceForEvents: count });
        }}
      >
        Until
        <input type="number" min={1} value={events} onChange={(e) => setEvents(e.target.value)} aria-label="More events" data-testid="silence-events-input" />
        more events
        <button type="submit" className="btn btn-small" disabled={!valid || busy} data-testid="silence-events-confirm">
          Silence
        </button>
      </form>
      <button type="button" className="btn btn-link" onClick={onClose}>
        Cancel
      </button>
    </div>
  );
}

/** Resolve, resolve in a release, silence and reopen, as the issue's status allows. */
export function StatusActions({ pid, issue }: { pid: string; issue: Schema<'IssueDetail'> }) {
  const [picking, setPicking] = useState<'release' | 'silence' | null>(null);
  const [release, setRelease] = useState('');
  const releases = useQuery({ ...releasePickerQuery(pid), enabled: picking === 'release' });
  const update = useIssueUpdate(pid, issue.id, () => setPicking(null));

  const open = issue.status === 'active' || issue.status === 'regressed';
  const busy = update.isPending;
  return (
    <div className="status-actions" data-testid="status-actions">
      {issue.status !== 'resolved' && (
        <button type="button" className="btn btn-primary" disabled={busy} onClick={() => update.mutate({ status: 'resolved' })} data-testid="status-resolve">
          Resolve
        </button>
      )}
      {issue.status !== 'resolved' && picking !== 'release' && (
        <button type="button" className="btn" disabled={busy} onClick={() => setPicking('release')} data-testid="status-resolve-in-release">
          Resolve in release…
        </button>
      )}
      {picking === 'release' && (
        <span className="resolve-in-release">
          <select value={release} onChange={(e) => setRelease(e.target.value)} aria-label="Release that fixes it" data-testid="resolve-release-select">
            <option value="">{releases.isPending ? 'Loading releases…' : 'Choose a release'}</option>
            <ReleaseOptions releases={releases.data?.items} />
          </select>
          <button
            type="button"
            className="btn btn-primary"
            disabled={!release || busy}
            onClick={() => update.mutate({ status: 'resolved', resolvedInRelease: release })}
            data-testid="resolve-release-confirm"
          >
            Resolve
          </button>
          <button type="button" className="btn btn-link" onClick={() => setPicking(null)}>
            Cancel
          </button>
          {releases.isSuccess && releases.data.items.length === 0 && <span className="muted">This project has no releases yet.</span>}
        </span>
      )}
      {picking !== 'silence' && (
        <button type="button" className="btn" disabled={busy} onClick={() => setPicking('silence')} aria-haspopup="menu" data-testid="status-silence">
          {issue.status === 'silenced' ? 'Silence differently…' : 'Silence…'}
        </button>
      )}
      {picking === 'silence' && <SilenceMenu busy={busy} onSilence={(patch) => update.mutate(patch)} onClose={() => setPicking(null)} />}
      {!open && (
        <button type="button" className="btn" disabled={busy} onClick={() => update.mutate({ status: 'active' })} data-testid="status-reopen">
          Reopen
        </button>
      )}
      <InlineError error={update.error ?? releases.error} />
    </div>
  );
}
