// Who is logged in. The session itself is an HttpOnly cookie the SPA cannot
// see; /me is the only way to know, and it also hands back the CSRF token
// after a reload (the token is kept in memory only).
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { Navigate, Outlet, useLocation } from 'react-router';
import { ApiError, api, keys, setCsrfToken, setUnauthorizedListener, type Me } from '../api';
import { ErrorState, Loading } from '../components/states';

async function fetchMe(signal: AbortSignal): Promise<Me | null> {
  try {
    const me = await api.auth.me(signal);
    setCsrfToken(me.csrfToken);
    return me;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      setCsrfToken(null);
      return null;
    }
    throw err;
  }
}

export function useMe() {
  return useQuery({
    queryKey: keys.me,
    queryFn: ({ signal }) => fetchMe(signal),
    staleTime: Infinity,
    retry: 1,
  });
}

/** Any 401 from a data call means the session ended: forget everything and show login. */
export function SessionWatcher() {
  const queryClient = useQueryClient();
  useEffect(() => {
    setUnauthorizedListener(() => {
      setCsrfToken(null);
      queryClient.setQueryData(keys.me, null);
    });
    return () => setUnauthorizedListener(null);
  }, [queryClient]);
  return null;
}

export function RequireAuth() {
  const me = useMe();
  const location = useLocation();
  if (me.isPending) return <Loading label="Checking your session…" full />;
  if (me.isError) return <ErrorState error={me.error} onRetry={() => me.refetch()} full />;
  if (!me.data) {
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return <Outlet />;
}
