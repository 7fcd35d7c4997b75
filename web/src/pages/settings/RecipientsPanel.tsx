import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, keys, type Recipient } from '../../api';
import { ConfirmButton } from '../../components/Buttons';
import { RelativeTime } from '../../components/Time';
import { EmptyState, InlineError } from '../../components/states';
import { QueryTable } from '../../components/Table';

/** The notifications a recipient switches one by one, in the table's column order. */
const NOTIFICATIONS = [
  { field: 'onNewIssue', about: 'new issues', testId: 'recipient-new-issue' },
  { field: 'onRegression', about: 'regressions', testId: 'recipient-regression' },
] as const;

export function RecipientsPanel({ pid }: { pid: string }) {
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [onNewIssue, setOnNewIssue] = useState(true);
  const [onRegression, setOnRegression] = useState(true);
  const invalidate = () => queryClient.invalidateQueries({ queryKey: keys.recipients(pid) });

  const list = useQuery({ queryKey: keys.recipients(pid), queryFn: ({ signal }) => api.recipients.list(pid, signal) });
  const add = useMutation({
    mutationFn: () => api.recipients.add(pid, { email: email.trim(), onNewIssue, onRegression }),
    onSuccess: () => {
      setEmail('');
      return invalidate();
    },
  });
  const update = useMutation({
    mutationFn: ({ id, patch }: { id: string; patch: Partial<Pick<Recipient, 'onNewIssue' | 'onRegression'>> }) =>
      api.recipients.update(pid, id, patch),
    onSuccess: invalidate,
  });
  const remove = useMutation({ mutationFn: (id: string) => api.recipients.remove(pid, id), onSuccess: invalidate });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (email.trim()) add.mutate();
  };

  return (
    <section data-testid="recipients-panel">
      <p className="panel-intro">
        Who gets an email when a new issue appears or a resolved one comes back. Silenced issues never send mail. Email needs{' '}
        <code>SENTORI_SMTP_HOST</code> on the notifier.
      </p>
      <form className="inline-form" onSubmit={submit} data-testid="recipient-form">
        <input
          type="email"
          placeholder="name@example.com"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          aria-label="Email address"
          required
          data-testid="recipient-email"
        />
        <label>
          <input type="checkbox" checked={onNewIssue} onChange={(e) => setOnNewIssue(e.target.checked)} /> new issues
        </label>
        <label>
          <input type="checkbox" checked={onRegression} onChange={(e) => setOnRegression(e.target.checked)} /> regressions
        </label>
        <button type="submit" className="btn btn-primary" disabled={!email.trim() || add.isPending} data-testid="recipient-add">
          {add.isPending ? 'Adding…' : 'Add recipient'}
        </button>
      </form>
      <InlineError error={add.error ?? update.error ?? remove.error} />

      <QueryTable
        query={list}
        label="Loading recipients…"
        empty={
          <EmptyState title="Nobody is notified yet." testId="recipients-empty">
            Add an address above to get an email for new issues and regressions.
          </EmptyState>
        }
        testId="recipients-table"
        head={
          <>
            <th>Email</th>
            <th>New issues</th>
            <th>Regressions</th>
            <th className="col-time">Added</th>
            <th aria-label="Actions" />
          </>
        }
      >
        {(recipients) =>
          recipients.map((r) => (
            <tr key={r.id} data-testid="recipient-row" data-recipient-id={r.id}>
              <td>{r.email}</td>
              {NOTIFICATIONS.map((n) => (
                <td key={n.field}>
                  <input
                    type="checkbox"
                    checked={r[n.field]}
                    disabled={update.isPending}
                    onChange={(e) => update.mutate({ id: r.id, patch: { [n.field]: e.target.checked } })}
                    aria-label={`Email ${r.email} about ${n.about}`}
                    data-testid={n.testId}
                  />
                </td>
              ))}
              <td className="col-time">
                <RelativeTime value={r.createdAt} />
              </td>
              <td className="col-actions">
                <ConfirmButton onConfirm={() => remove.mutate(r.id)} disabled={remove.isPending} testId="recipient-delete" confirmLabel="Remove?">
                  Remove
                </ConfirmButton>
              </td>
            </tr>
          ))
        }
      </QueryTable>
    </section>
  );
}
