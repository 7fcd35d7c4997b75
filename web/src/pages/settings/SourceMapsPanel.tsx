import { useState } from 'react';
import { api, keys, usePagedList } from '../../api';
import { EmptyState, QueryState } from '../../components/states';
import { ArtifactList } from '../release/ArtifactList';

export function SourceMapsPanel({ pid }: { pid: string }) {
  const { list: releases, items: rows } = usePagedList([...keys.releases(pid), 'all'], (cursor, signal) => api.releases.list(pid, cursor, signal));
  const [chosen, setChosen] = useState<string | null>(null);
  // Until the operator picks one, show the newest release that has uploads.
  const release = chosen ?? rows.find((r) => r.artifactCount > 0)?.name ?? rows[0]?.name ?? null;

  return (
    <section data-testid="sourcemaps-panel">
      <p className="panel-intro">
        Source maps turn minified stack frames into original files and lines. Upload them per release with the CLI and an admin
        token; each file is stored once by its SHA-256.
      </p>
      <QueryState
        query={releases}
        label="Loading releases…"
        isEmpty={() => rows.length === 0 || !release}
        empty={
          <EmptyState title="No releases yet." testId="sourcemaps-empty">
            Upload source maps for a release (<code>POST /admin/api/releases/&lt;release&gt;/sourcemaps</code>) and they are listed here.
          </EmptyState>
        }
      >
        {() =>
          release && (
            <>
              <label className="inline-form">
                Release
                <select value={release} onChange={(e) => setChosen(e.target.value)} data-testid="sourcemaps-release">
                  {rows.map((r) => (
                    <option key={r.name} value={r.name}>
                      {r.name} ({r.artifactCount} file{r.artifactCount === 1 ? '' : 's'})
                    </option>
                  ))}
                </select>
                {releases.hasNextPage && (
                  <button type="button" className="btn btn-small" onClick={() => releases.fetchNextPage()} disabled={releases.isFetchingNextPage}>
                    Older releases
                  </button>
                )}
              </label>
              <ArtifactList pid={pid} release={release} />
            </>
          )
        }
      </QueryState>
    </section>
  );
}
