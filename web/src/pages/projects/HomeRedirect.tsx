import { useQuery } from '@tanstack/react-query';
import { Navigate } from 'react-router';
import { projectsQuery } from '../../api';
import { lastProject } from '../../components/lastProject';
import { ErrorState, Loading } from '../../components/states';
import { seg } from '../../lib/url';

/** "/" opens the last project used, else the first, else project creation. */
export function HomeRedirect() {
  const projects = useQuery(projectsQuery);
  if (projects.isPending) return <Loading />;
  if (projects.isError) return <ErrorState error={projects.error} onRetry={() => projects.refetch()} />;
  const list = projects.data;
  if (list.length === 0) return <Navigate to="/projects/new" replace />;
  const remembered = lastProject();
  const target = list.find((p) => p.id === remembered) ?? list[0]!;
  return <Navigate to={`/p/${seg(target.id)}/issues`} replace />;
}
