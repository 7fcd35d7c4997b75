import { Link, useParams } from 'react-router';
import { PageHeader } from '../../components/PageHeader';
import { Truncated } from '../../components/Truncated';
import { seg } from '../../lib/url';
import { ArtifactList } from './ArtifactList';
import { useDocumentTitle } from '../../components/useDocumentTitle';

export function ReleasePage() {
  const { pid = '', release = '' } = useParams();
  useDocumentTitle(release, 'Releases');
  return (
    <div className="page" data-testid="release-page">
      <div className="breadcrumb-nav">
        <Link to={`/p/${seg(pid)}/releases`}>Releases</Link> / <Truncated value={release} mono copy />
      </div>
      <PageHeader
        title={<span className="mono release-title">{release}</span>}
        subtitle={
          <Link to={`/p/${seg(pid)}/issues?status=all&release=${encodeURIComponent(release)}`}>Issues seen in this release</Link>
        }
      />
      <h2 className="section-title">Artifacts</h2>
      <ArtifactList pid={pid} release={release} />
    </div>
  );
}
