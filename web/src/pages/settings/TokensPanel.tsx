import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, keys, type Schema, type TokenKind } from '../../api';
import { ConfirmButton } from '../../components/Buttons';
import { CodeBlock, OneTimeSecret } from '../../components/Secret';
import { DateTime, RelativeTime } from '../../components/Time';
import { EmptyState, InlineError } from '../../components/states';
import { QueryTable } from '../../components/Table';
import { SENTRY_PLATFORMS, jsSdkSnippet, sentrySdkSnippet, type SentryPlatform } from '../../lib/snippet';
import { createdByLabel } from '../../lib/tokens';

/** The DSN of a new public token and how to give it to an official Sentry SDK. */
function SentryDsn({ dsn }: { dsn: string }) {
  const [platform, setPlatform] = useState<SentryPlatform>('javascript');
  return (
    <div data-testid="sentry-dsn-panel">
      <p>Or keep your app's official Sentry SDK and give it this DSN:</p>
      <CodeBlock code={dsn} testId="sentry-dsn" />
      <select value={platform} onChange={(e) => setPlatform(e.target.value as SentryPlatform)} aria-label="Sentry SDK platform" data-testid="sentry-platform">
        {SENTRY_PLATFORMS.map((p) => (
          <option key={p} value={p}>
            {p}
          </option>
        ))}
      </select>
      <CodeBlock code={sentrySdkSnippet(platform, dsn)} testId="sentry-snippet" />
    </div>
  );
}

function CreatedNotice({ token, onDone }: { token: Schema<'CreatedToken'>; onDone: () => void }) {
  return (
    <div className="panel panel-highlight" data-testid="token-created">
      <h3>
        New {token.kind} token{token.label ? ` “${token.label}”` : ''}
      </h3>
      <OneTimeSecret token={token.token} />
      {token.kind === 'public' ? (
        <>
          <p>Paste into your app:</p>
          <CodeBlock code={jsSdkSnippet({ ingestUrl: window.location.origin, token: token.token })} testId="sdk-snippet" />
          {token.dsn && <SentryDsn dsn={token.dsn} />}
        </>
      ) : (
        <p>
          Admin tokens can also call this project's admin API and upload source maps (<code>Authorization: Bearer …</code>). Keep
          it in your CI secrets, never in an app.
        </p>
      )}
      <button type="button" className="btn btn-small" onClick={onDone}>
        I have copied it
      </button>
    </div>
  );
}

export function TokensPanel({ pid }: { pid: string }) {
  const queryClient = useQueryClient();
  const [label, setLabel] = useState('');
  const [kind, setKind] = useState<TokenKind>('public');
  const [created, setCreated] = useState<Schema<'CreatedToken'> | null>(null);

  const list = useQuery({ queryKey: keys.tokens(pid), queryFn: ({ signal }) => api.tokens.list(pid, signal) });
  const create = useMutation({
    mutationFn: () => api.tokens.create(pid, { label: label.trim() || undefined, kind }),
    onSuccess: (token) => {
      setCreated(token);
      setLabel('');
      return queryClient.invalidateQueries({ queryKey: keys.tokens(pid) });
    },
  });
  const revoke = useMutation({
    mutationFn: (tid: string) => api.tokens.revoke(pid, tid),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.tokens(pid) }),
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };

  return (
    <section data-testid="tokens-panel">
      <p className="panel-intro">
        <strong>Public</strong> tokens go into apps and can only send data. <strong>Admin</strong> tokens can also read this project
        and upload source maps. A revoked token stops working within 30 seconds.
      </p>
      {created && <CreatedNotice token={created} onDone={() => setCreated(null)} />}
      <form className="inline-form" onSubmit={submit} data-testid="token-form">
        <input placeholder="Label, e.g. web app prod" value={label} maxLength={100} onChange={(e) => setLabel(e.target.value)} aria-label="Token label" data-testid="token-label" />
        <select value={kind} onChange={(e) => setKind(e.target.value as TokenKind)} aria-label="Token kind" data-testid="token-kind">
          <option value="public">public (ingest)</option>
          <option value="admin">admin (ingest, API, uploads)</option>
        </select>
        <button type="submit" className="btn btn-primary" disabled={create.isPending} data-testid="token-create">
          {create.isPending ? 'Creating…' : 'Create token'}
        </button>
      </form>
      <InlineError error={create.error ?? revoke.error} />

      <QueryTable
        query={list}
        label="Loading tokens…"
        empty={
          <EmptyState title="This project has no tokens." testId="tokens-empty">
            Create a public token above to start sending events.
          </EmptyState>
        }
        testId="tokens-table"
        head={
          <>
            <th>Label</th>
            <th>Kind</th>
            <th>Token</th>
            <th className="col-time">Created</th>
            <th>Created by</th>
            <th>State</th>
            <th aria-label="Actions" />
          </>
        }
      >
        {(tokens) =>
          tokens.map((t) => (
            <tr key={t.id} className={t.revokedAt ? 'row-dim' : undefined} data-testid="token-row" data-token-id={t.id}>
              <td>{t.label || <span className="muted">unlabelled</span>}</td>
              <td>
                <span className={`badge badge-token-${t.kind === 'admin' ? 'admin' : 'public'}`}>{t.kind}</span>
              </td>
              <td className="mono">
                st_pk_…{t.last4}
                {t.dsn && !t.revokedAt && (
                  <div className="muted" title="Sentry DSN (the token is masked: copy the full DSN when the token is created)" data-testid="token-dsn">
                    {t.dsn}
                  </div>
                )}
              </td>
              <td className="col-time">
                <RelativeTime value={t.createdAt} />
              </td>
              <td data-testid="token-created-by">{createdByLabel(t.createdBy, tokens)}</td>
              <td>
                {t.revokedAt ? (
                  <span className="muted">
                    revoked <DateTime value={t.revokedAt} />
                  </span>
                ) : (
                  'active'
                )}
              </td>
              <td className="col-actions">
                {!t.revokedAt && (
                  <ConfirmButton onConfirm={() => revoke.mutate(t.id)} disabled={revoke.isPending} testId="token-revoke" confirmLabel="Revoke now?">
                    Revoke
                  </ConfirmButton>
                )}
              </td>
            </tr>
          ))
        }
      </QueryTable>
    </section>
  );
}
