import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useNavigate } from 'react-router';
import { api, keys, type Issue, type Schema } from '../../api';
import { InlineError } from '../../components/states';
import { formatCount } from '../../lib/format';
import { clipText } from '../../lib/title';
import { seg } from '../../lib/url';

/** Text typed this long ago is searched; each key press would otherwise be a request. */
const SEARCH_DELAY_MS = 250;

/**
 * Merges this issue into another one, found by searching: its events and
 * counts move there, and its fingerprint sends new events there too. The
 * page then shows the issue it went into.
 */
export function MergeControl({ pid, issue }: { pid: string; issue: Schema<'IssueDetail'> }) {
  const [open, setOpen] = useState(false);
  const [text, setText] = useState('');
  const [query, setQuery] = useState('');
  const [target, setTarget] = useState<Issue | null>(null);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  useEffect(() => {
    const timer = window.setTimeout(() => setQuery(text.trim()), SEARCH_DELAY_MS);
    return () => window.clearTimeout(timer);
  }, [text]);
  const candidates = useQuery({
    queryKey: [...keys.issues(pid), 'merge-candidates', query],
    queryFn: ({ signal }) => api.issues.list(pid, { status: 'all', query: query || undefined, limit: 8 }, null, signal),
    enabled: open,
  });
  const merge = useMutation({
    mutationFn: (into: Issue) => api.issues.merge(pid, { targetId: into.id, issueIds: [issue.id] }),
    onSuccess: async (into: Issue) => {
      await queryClient.invalidateQueries({ queryKey: keys.issues(pid) });
      navigate(`/p/${seg(pid)}/issues/${seg(into.id)}`);
    },
  });

  if (!open) {
    return (
      <button type="button" className="btn btn-small" onClick={() => setOpen(true)} data-testid="merge-open">
        Merge into…
      </button>
    );
  }
  const others = (candidates.data?.items ?? []).filter((i) => i.id !== issue.id);
  return (
    <div className="merge-picker" data-testid="merge-picker">
      <input
        type="search"
        value={text}
        onChange={(e) => setText(e.target.value)}
        placeholder="Find the issue to merge into"
        aria-label="Find the issue to merge into"
        autoFocus
        data-testid="merge-search"
      />
      <ul className="merge-candidates">
        {others.map((candidate) => (
          <li key={candidate.id}>
            <button
              type="button"
              className={`merge-candidate${target?.id === candidate.id ? ' merge-candidate-chosen' : ''}`}
              onClick={() => setTarget(candidate)}
              aria-pressed={target?.id === candidate.id}
              data-testid="merge-candidate"
              data-issue-id={candidate.id}
            >
              <span className="mono">{candidate.shortId}</span> {clipText(candidate.title, 120)}
              <span className="muted"> · {formatCount(candidate.eventCount)} event{candidate.eventCount === 1 ? '' : 's'}</span>
            </button>
          </li>
        ))}
        {candidates.isSuccess && others.length === 0 && <li className="muted">No other issue matches.</li>}
      </ul>
      <div className="merge-actions">
        <button type="button" className="btn btn-primary" disabled={!target || merge.isPending} onClick={() => target && merge.mutate(target)} data-testid="merge-confirm">
          {target ? `Merge ${issue.shortId} into ${target.shortId}` : 'Choose an issue'}
        </button>
        <button type="button" className="btn btn-link" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
      <InlineError error={merge.error ?? candidates.error} />
    </div>
  );
}
