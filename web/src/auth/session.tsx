// Who is logged in. The session itself is an HttpOnly cookie the SPA cannot
// see; /me is the only way to know, and it also hands back the CSRF token
// after a reload (the token is kept in memory only).
import { type QueryClient, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { Navigate, Outlet, useLocation } from 'react-router';
import { ApiError, api, keys, setCsrfPending, setCsrfToken, setUnauthorizedListener, type Me } from '../api';
import { ErrorState, Loading } from '../components/states';

// Whether this browser logged in and has not logged out since. Without it
// the /me probe is skipped: a visitor who never logged in would otherwise
// meet the login page with a 401 in the console. Not a secret and not
// trusted: the server still decides on every request.
const SESSION_HINT = 'sentori.session';

export function rememberSession(loggedIn: boolean): void {
  try {
    if (loggedIn) localStorage.setItem(SESSION_HINT, '1');
    else localStorage.removeItem(SESSION_HINT);
  } catch {
    // Storage blocked: the probe simply runs every time.
  }
}

export function mayHaveSession(): boolean {
  try {
    return localStorage.getItem(SESSION_HINT) === '1';
  } catch {
    return true;
  }
}

async function fetchMe(signal: AbortSignal): Promise<Me | null> {
  if (!mayHaveSession()) {
    setCsrfToken(null);
    return null;
  }
  try {
    const me = await api.auth.me(signal);
    setCsrfToken(me.csrfToken ?? null);
    return me;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      setCsrfToken(null);
      rememberSession(false);
      return null;
    }
    throw err;
  }
}

const meQuery = {
  queryKey: keys.me,
  queryFn: ({ signal }: { signal: AbortSignal }) => fetchMe(signal),
  staleTime: Infinity,
  retry: 1,
};

export function useMe() {
  return useQuery(meQuery);
}

/**
 * Sends the /me probe before React renders anything, so it travels beside
 * the bundle's start-up instead of after the first render.
 */
export function startSessionProbe(queryClient: QueryClient): void {
  setCsrfPending(queryClient.prefetchQuery(meQuery).finally(() => setCsrfPending(null)));
}

/** Any 401 from a data call means the session ended: forget everything and show login. */
export function SessionWatcher() {
  const queryClient = useQueryClient();
  useEffect(() => {
    setUnauthorizedListener(() => {
      setCsrfToken(null);
      rememberSession(false);
      queryClient.setQueryData(keys.me, null);
    });
    return () => setUnauthorizedListener(null);
  }, [queryClient]);
  return null;
}

export function RequireAuth() {
  const me = useMe();
  const location = useLocation();
  // A browser that logged in renders the page at once and fetches its data
  // beside /me: the server checks every request, and a 401 from either
  // ends here on the login page. Waiting for /me first cost a round trip
  // and a render on every page load.
  if (me.isPending) return mayHaveSession() ? <Outlet /> : <Loading label="Checking your session…" full />;
  if (me.isError) return <ErrorState error={me.error} onRetry={() => me.refetch()} full />;
  if (!me.data) {
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return <Outlet />;
}
