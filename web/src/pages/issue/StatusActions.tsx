import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, keys, type Issue, type IssueDetail, type IssuePatch } from '../../api';
import { InlineError } from '../../components/states';

/** Resolve, resolve in a release, silence and reopen, as the issue's status allows. */
export function StatusActions({ pid, issue }: { pid: string; issue: IssueDetail }) {
  const queryClient = useQueryClient();
  const [picking, setPicking] = useState(false);
  const [release, setRelease] = useState('');
  const releases = useQuery({
    queryKey: [...keys.releases(pid), 'first'],
    queryFn: ({ signal }) => api.releases.list(pid, null, signal),
    enabled: picking,
  });

  const update = useMutation({
    mutationFn: (patch: IssuePatch) => api.issues.update(pid, issue.id, patch),
    onSuccess: (row: Issue) => {
      // The PATCH answers with the list row; keep the detail-only fields.
      queryClient.setQueryData<IssueDetail>(keys.issue(pid, issue.id), (old) => (old ? { ...old, ...row } : old));
      setPicking(false);
      return queryClient.invalidateQueries({ queryKey: keys.issues(pid) });
    },
  });

  const open = issue.status === 'active' || issue.status === 'regressed';
  const busy = update.isPending;
  return (
    <div className="status-actions" data-testid="status-actions">
      {issue.status !== 'resolved' && (
        <button type="button" className="btn btn-primary" disabled={busy} onClick={() => update.mutate({ status: 'resolved' })} data-testid="status-resolve">
          Resolve
        </button>
      )}
      {issue.status !== 'resolved' && !picking && (
        <button type="button" className="btn" disabled={busy} onClick={() => setPicking(true)} data-testid="status-resolve-in-release">
          Resolve in release…
        </button>
      )}
      {picking && (
        <span className="resolve-in-release">
          <select value={release} onChange={(e) => setRelease(e.target.value)} aria-label="Release that fixes it" data-testid="resolve-release-select">
            <option value="">{releases.isPending ? 'Loading releases…' : 'Choose a release'}</option>
            {releases.data?.items.map((r) => (
              <option key={r.name} value={r.name}>
                {r.name}
              </option>
            ))}
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
          <button type="button" className="btn btn-link" onClick={() => setPicking(false)}>
            Cancel
          </button>
          {releases.isSuccess && releases.data.items.length === 0 && <span className="muted">This project has no releases yet.</span>}
        </span>
      )}
      {issue.status !== 'silenced' && (
        <button type="button" className="btn" disabled={busy} onClick={() => update.mutate({ status: 'silenced' })} data-testid="status-silence">
          Silence
        </button>
      )}
      {!open && (
        <button type="button" className="btn" disabled={busy} onClick={() => update.mutate({ status: 'active' })} data-testid="status-reopen">
          Reopen
        </button>
      )}
      <InlineError error={update.error ?? releases.error} />
    </div>
  );
}
