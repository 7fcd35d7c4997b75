import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, keys } from '../../api';
import { ConfirmButton } from '../../components/Buttons';
import { RelativeTime } from '../../components/Time';
import { EmptyState, InlineError } from '../../components/states';
import { QueryTable } from '../../components/Table';
import { formatBytes } from '../../lib/format';

/** The files uploaded for one release, with delete. Used by the release page and settings. */
export function ArtifactList({ pid, release }: { pid: string; release: string }) {
  const queryClient = useQueryClient();
  const list = useQuery({ queryKey: keys.artifacts(pid, release), queryFn: ({ signal }) => api.releases.artifacts(pid, release, signal) });
  const remove = useMutation({
    mutationFn: (aid: string) => api.releases.deleteArtifact(pid, release, aid),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.releases(pid) }),
  });

  return (
    <QueryTable
      query={list}
      label="Loading artifacts…"
      empty={
        <EmptyState title="No source maps or bundles uploaded for this release." testId="artifacts-empty">
          Upload them with the CLI after each build: it posts to <code>/admin/api/releases/&lt;release&gt;/sourcemaps</code> with an admin token.
        </EmptyState>
      }
      above={<InlineError error={remove.error} />}
      testId="artifacts-table"
      head={
        <>
          <th>Name</th>
          <th>Kind</th>
          <th>Maps file</th>
          <th className="col-num">Size</th>
          <th>SHA-256</th>
          <th className="col-time">Uploaded</th>
          <th aria-label="Actions" />
        </>
      }
    >
      {(artifacts) =>
        artifacts.map((a) => (
          <tr key={a.id} data-testid="artifact-row">
            <td className="mono">{a.name}</td>
            <td>
              <span className="badge">{a.kind}</span>
            </td>
            <td className="mono">{a.file ?? ''}</td>
            <td className="col-num">{formatBytes(a.sizeBytes)}</td>
            <td className="mono muted" title={a.contentHash}>
              {a.contentHash.slice(0, 12)}
            </td>
            <td className="col-time">
              <RelativeTime value={a.createdAt} />
            </td>
            <td className="col-actions">
              <ConfirmButton onConfirm={() => remove.mutate(a.id)} disabled={remove.isPending} testId="artifact-delete" confirmLabel="Delete?">
                Delete
              </ConfirmButton>
            </td>
          </tr>
        ))
      }
    </QueryTable>
  );
}
