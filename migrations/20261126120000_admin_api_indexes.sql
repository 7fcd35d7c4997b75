-- Indexes for the admin API's read paths.

-- The issue list's `release` and `environment` filters ask "has this issue
-- an event in X" (an issue's first/last release alone would miss the
-- releases in between), and a release's event count counts its events:
-- both look events up by project and value, then issue.
CREATE INDEX events_release ON events (project_id, release, issue_id);
CREATE INDEX events_environment ON events (project_id, environment, issue_id);

-- A release's new issues are the issues first seen in it.
CREATE INDEX issues_first_release ON issues (project_id, first_release);

-- Expired dashboard sessions are swept at login.
CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at);
