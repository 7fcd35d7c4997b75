import { useQuery } from '@tanstack/react-query';
import { api, keys } from '../../api';
import { RelativeTime } from '../../components/Time';
import { EmptyState } from '../../components/states';
import { QueryTable } from '../../components/Table';

/** The artifact bundles sentry-cli uploaded with this release, each file with its debug ID. */
export function BundleList({ pid, release }: { pid: string; release: string }) {
  const list = useQuery({ queryKey: keys.bundles(pid, release), queryFn: ({ signal }) => api.releases.bundles(pid, release, signal) });

  return (
    <QueryTable
      query={list}
      label="Loading bundles…"
      empty={
        <EmptyState title="No sentry-cli bundles uploaded with this release." testId="bundles-empty">
          <code>sentry-cli sourcemaps upload --release &lt;release&gt;</code> lists them here. Bundles uploaded without a release still serve
          events by their debug IDs, whatever the release.
        </EmptyState>
      }
      testId="bundles-table"
      head={
        <>
          <th>File</th>
          <th>Type</th>
          <th>Debug ID</th>
          <th>Bundle</th>
          <th className="col-time">Uploaded</th>
        </>
      }
    >
      {(bundles) =>
        bundles.flatMap((bundle) =>
          bundle.files.map((file) => (
            <tr key={`${bundle.id}/${file.name}`} data-testid="bundle-file-row">
              <td className="mono">{file.url}</td>
              <td>
                <span className="badge">{file.kind}</span>
              </td>
              <td className="mono">{file.debugId ?? ''}</td>
              <td className="mono muted" title={`checksum ${bundle.checksum}${bundle.dist ? `, dist ${bundle.dist}` : ''}`}>
                {(bundle.bundleId ?? bundle.checksum).slice(0, 8)}
              </td>
              <td className="col-time">
                <RelativeTime value={bundle.createdAt} />
              </td>
            </tr>
          )),
        )
      }
    </QueryTable>
  );
}
