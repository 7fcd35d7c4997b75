import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, NavLink, Outlet, useLocation, useNavigate, useParams } from 'react-router';
import { api, keys, projectsQuery, setCsrfToken } from '../api';
import { rememberSession } from '../auth/session';
import { seg } from '../lib/url';
import { lastProject, rememberProject } from './lastProject';

function ProjectSwitcher({ pid }: { pid: string | undefined }) {
  const projects = useQuery(projectsQuery);
  const navigate = useNavigate();
  const location = useLocation();

  // Switching keeps the section you were in (issues, traces, …), not the item.
  const section = location.pathname.match(/^\/p\/[^/]+\/([^/]+)/)?.[1] ?? 'issues';
  const known = !!pid && !!projects.data?.some((p) => p.id === pid);

  return (
    <div className="switcher">
      <label className="switcher-label" htmlFor="project-switcher">
        Project
      </label>
      <select
        id="project-switcher"
        data-testid="project-switcher"
        value={known ? pid : ''}
        disabled={projects.isPending}
        onChange={(e) => {
          const value = e.target.value;
          if (value === '__new') navigate('/projects/new');
          else if (value) navigate(`/p/${seg(value)}/${section}`);
        }}
      >
        {!known && <option value="">{projects.isPending ? 'Loading…' : 'Choose a project'}</option>}
        {projects.data?.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
        <option value="__new">+ New project…</option>
      </select>
      {projects.isError && <div className="switcher-error">Projects could not be loaded.</div>}
    </div>
  );
}

export function Layout() {
  const { pid: routePid } = useParams();
  // Pages outside a project (status, new project) keep the last project's
  // navigation, so leaving a project is never a dead end.
  const pid = routePid ?? lastProject() ?? undefined;
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const location = useLocation();
  // On narrow screens the sidebar folds into a menu that a navigation closes.
  const [menuOpen, setMenuOpen] = useState(false);

  useEffect(() => {
    if (routePid) rememberProject(routePid);
  }, [routePid]);
  useEffect(() => setMenuOpen(false), [location.pathname]);

  const logout = useMutation({
    mutationFn: api.auth.logout,
    onSettled: () => {
      // Whatever the server said, this tab must stop acting logged in.
      setCsrfToken(null);
      rememberSession(false);
      queryClient.setQueryData(keys.me, null);
      navigate('/login', { replace: true });
      // Drop the previous session's data once this layout has unmounted, so
      // its queries are not refetched (and answered 401) on the way out.
      window.setTimeout(() => queryClient.removeQueries({ predicate: (q) => q.queryKey[0] !== keys.me[0] }), 0);
    },
  });

  const p = pid ? `/p/${seg(pid)}` : null;
  return (
    <div className="shell">
      <nav className={`sidebar${menuOpen ? ' sidebar-open' : ''}`} aria-label="Main">
        <Link to="/" className="brand">
          <img src="/favicon.svg" alt="" width={20} height={20} />
          Sentori
        </Link>
        <button
          type="button"
          className="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="sidebar-menu"
          onClick={() => setMenuOpen((open) => !open)}
          data-testid="menu-toggle"
        >
          {menuOpen ? 'Close' : 'Menu'}
        </button>
        <div className="sidebar-menu" id="sidebar-menu">
          <ProjectSwitcher pid={pid} />
          {p && (
            <ul className="nav">
              <li>
                <NavLink to={`${p}/issues`} data-testid="nav-issues">
                  Issues
                </NavLink>
              </li>
              <li>
                <NavLink to={`${p}/traces`} data-testid="nav-traces">
                  Traces
                </NavLink>
              </li>
              <li>
                <NavLink to={`${p}/releases`} data-testid="nav-releases">
                  Releases
                </NavLink>
              </li>
              <li>
                <NavLink to={`${p}/settings`} data-testid="nav-settings">
                  Settings
                </NavLink>
              </li>
            </ul>
          )}
          <ul className="nav nav-bottom">
            <li>
              <NavLink to="/status" data-testid="nav-status">
                System status
              </NavLink>
            </li>
            <li>
              <button type="button" className="nav-button" onClick={() => logout.mutate()} disabled={logout.isPending} data-testid="logout">
                Log out
              </button>
            </li>
          </ul>
        </div>
      </nav>
      <main className="main">
        <Outlet />
      </main>
    </div>
  );
}
