import { useState, type FormEvent } from 'react';
import type { Schema } from '../../api';
import { InlineError } from '../../components/states';
import { Truncated } from '../../components/Truncated';
import { useIssueUpdate } from './StatusActions';

/** Who the issue is assigned to: a name or an email, typed (there are no user accounts). */
export function AssigneeControl({ pid, issue }: { pid: string; issue: Schema<'IssueDetail'> }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState('');
  const update = useIssueUpdate(pid, issue.id, () => setEditing(false));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim()) update.mutate({ assignee: name.trim() });
  };

  if (editing) {
    return (
      <form className="assignee-form" onSubmit={submit} data-testid="assignee-form">
        <input
          type="text"
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="Name or email"
          maxLength={200}
          autoFocus
          aria-label="Assign to"
          data-testid="assignee-input"
        />
        <button type="submit" className="btn btn-small btn-primary" disabled={!name.trim() || update.isPending} data-testid="assignee-save">
          Assign
        </button>
        <button type="button" className="btn btn-small btn-link" onClick={() => setEditing(false)}>
          Cancel
        </button>
        <InlineError error={update.error} />
      </form>
    );
  }
  return (
    <span className="assignee" data-testid="assignee">
      {issue.assignee ? <Truncated value={issue.assignee} testId="assignee-name" /> : <span className="muted">nobody</span>}
      <button
        type="button"
        className="btn btn-small btn-link"
        onClick={() => {
          setName(issue.assignee ?? '');
          setEditing(true);
        }}
        data-testid="assignee-edit"
      >
        {issue.assignee ? 'Change' : 'Assign'}
      </button>
      {issue.assignee && (
        <button type="button" className="btn btn-small btn-link" disabled={update.isPending} onClick={() => update.mutate({ assignee: null })} data-testid="assignee-clear">
          Unassign
        </button>
      )}
      <InlineError error={update.error} />
    </span>
  );
}
