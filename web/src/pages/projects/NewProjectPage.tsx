import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api, keys, type Schema } from '../../api';
import { PageHeader } from '../../components/PageHeader';
import { CodeBlock, OneTimeSecret } from '../../components/Secret';
import { InlineError } from '../../components/states';
import { curlTestEventSnippet, jsSdkSnippet, randomUuid } from '../../lib/snippet';
import { seg } from '../../lib/url';
import { useDocumentTitle } from '../../components/useDocumentTitle';

const PLATFORMS = [
  { value: 'javascript', label: 'JavaScript (browser, Node)' },
  { value: 'react-native', label: 'React Native' },
  { value: 'ios', label: 'iOS' },
  { value: 'android', label: 'Android' },
  { value: 'other', label: 'Other' },
];

function Created({ project }: { project: Schema<'CreatedProject'> }) {
  const ingestUrl = window.location.origin;
  const token = project.token.token;
  return (
    <section className="panel" data-testid="project-created">
      <h2>{project.name} is ready</h2>
      <p>This project's first ingest token (kind <code>{project.token.kind}</code>):</p>
      <OneTimeSecret token={token} />
      <h3>Send errors from a JavaScript app</h3>
      <CodeBlock code={jsSdkSnippet({ ingestUrl, token })} testId="sdk-snippet" />
      <h3>Or check the pipeline with curl</h3>
      <CodeBlock code={curlTestEventSnippet({ ingestUrl, token, id: randomUuid(), now: new Date().toISOString() })} testId="curl-snippet" />
      <p>
        <Link className="btn btn-primary" to={`/p/${seg(project.id)}/issues`} data-testid="open-project">
          Open the project
        </Link>
      </p>
    </section>
  );
}

export function NewProjectPage() {
  useDocumentTitle('New project');
  const [name, setName] = useState('');
  const [platform, setPlatform] = useState('javascript');
  const queryClient = useQueryClient();
  const create = useMutation({
    mutationFn: () => api.projects.create({ name: name.trim(), platform }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.projects }),
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim()) create.mutate();
  };

  return (
    <div className="page page-narrow">
      <PageHeader title="New project" subtitle="A project collects the events, traces and releases of one app." />
      {create.data ? (
        <Created project={create.data} />
      ) : (
        <form className="panel form" onSubmit={submit} data-testid="project-form">
          <label htmlFor="project-name">Name</label>
          <input
            id="project-name"
            value={name}
            maxLength={100}
            onChange={(e) => setName(e.target.value)}
            placeholder="e.g. shop-web"
            autoFocus
            data-testid="project-name"
          />
          <label htmlFor="project-platform">Platform</label>
          <select id="project-platform" value={platform} onChange={(e) => setPlatform(e.target.value)} data-testid="project-platform">
            {PLATFORMS.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
              </option>
            ))}
          </select>
          <InlineError error={create.error} />
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={!name.trim() || create.isPending} data-testid="project-create">
              {create.isPending ? 'Creating…' : 'Create project'}
            </button>
          </div>
        </form>
      )}
    </div>
  );
}
