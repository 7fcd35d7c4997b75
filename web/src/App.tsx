import { Navigate, Route, Routes, useParams } from 'react-router';
import { RequireAuth, SessionWatcher } from './auth/session';
import { Layout } from './components/Layout';
import { IssuePage } from './pages/issue/IssuePage';
import { IssuesPage } from './pages/issues/IssuesPage';
import { LoginPage } from './pages/login/LoginPage';
import { NotFoundPage } from './pages/notfound/NotFoundPage';
import { HomeRedirect } from './pages/projects/HomeRedirect';
import { NewProjectPage } from './pages/projects/NewProjectPage';
import { ReleasePage } from './pages/release/ReleasePage';
import { ReleasesPage } from './pages/releases/ReleasesPage';
import { SettingsPage } from './pages/settings/SettingsPage';
import { StatusPage } from './pages/status/StatusPage';
import { TracePage } from './pages/trace/TracePage';
import { TracesPage } from './pages/traces/TracesPage';
import { TransactionsPage } from './pages/traces/TransactionsPage';
import { seg } from './lib/url';

function ProjectIndex() {
  const { pid = '' } = useParams();
  return <Navigate to={`/p/${seg(pid)}/issues`} replace />;
}

export function App() {
  return (
    <>
      <SessionWatcher />
      <Routes>
        <Route path="/login" element={<LoginPage />} />
        <Route element={<RequireAuth />}>
          <Route element={<Layout />}>
            <Route index element={<HomeRedirect />} />
            <Route path="projects/new" element={<NewProjectPage />} />
            <Route path="status" element={<StatusPage />} />
            <Route path="p/:pid">
              <Route index element={<ProjectIndex />} />
              <Route path="issues" element={<IssuesPage />} />
              <Route path="issues/:iid" element={<IssuePage />} />
              <Route path="issues/:iid/events/:eid" element={<IssuePage />} />
              <Route path="traces" element={<TracesPage />} />
              <Route path="traces/transactions" element={<TransactionsPage />} />
              <Route path="traces/:traceId" element={<TracePage />} />
              <Route path="releases" element={<ReleasesPage />} />
              <Route path="releases/:release" element={<ReleasePage />} />
              <Route path="settings" element={<SettingsPage />} />
            </Route>
            <Route path="*" element={<NotFoundPage />} />
          </Route>
        </Route>
      </Routes>
    </>
  );
}
