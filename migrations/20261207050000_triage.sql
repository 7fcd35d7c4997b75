-- Triage: assigning issues, silences that end by themselves, an activity
-- log per issue, and merged issues whose fingerprints keep routing new
-- events to the issue they were merged into (docs/decisions.md, "Triage").

-- A person's name or email, as typed: there are no user accounts.
ALTER TABLE issues ADD COLUMN assignee text;
-- A silence ends (the issue turns `active`) at this time, or once
-- `event_count` reaches `silenced_until_event_count`, whichever comes
-- first; both NULL on a silenced issue: silenced until someone reopens it.
ALTER TABLE issues ADD COLUMN silenced_until timestamptz;
ALTER TABLE issues ADD COLUMN silenced_until_event_count bigint;

-- The processor's sweep finds silences whose time has passed. Partial, so
-- the counter updates of every other issue add nothing to it.
CREATE INDEX issues_silence_ends ON issues (silenced_until)
    WHERE status = 'silenced' AND silenced_until IS NOT NULL;
-- The `assignee` filter: the status tabs' counts find the assigned issues by it.
CREATE INDEX issues_assignee ON issues (project_id, lower(assignee)) WHERE assignee IS NOT NULL;

-- What happened to an issue and who did it: the processor (first event,
-- regression, a silence that ended) or a person through the admin API
-- (status changes, assignment, merges).
CREATE TABLE issue_activity (
    project_id  uuid NOT NULL,
    issue_id    uuid NOT NULL,
    id          uuid NOT NULL DEFAULT uuidv7(),
    -- The clock, not the transaction's start: a change that writes two entries keeps their order.
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind        text NOT NULL
                CHECK (kind IN ('firstSeen', 'regressed', 'silenceEnded', 'status', 'assigned', 'merged')),
    -- `dashboard`: the operator's session; `token`: an admin token (named in actor_name).
    actor       text NOT NULL CHECK (actor IN ('processor', 'dashboard', 'token')),
    actor_name  text,
    data        jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (project_id, id),
    -- Rows are written once per new issue, regression or person's action,
    -- never per event, so the key's look-up costs the hot path nothing.
    FOREIGN KEY (project_id, issue_id) REFERENCES issues (project_id, id) ON DELETE CASCADE
);
CREATE INDEX issue_activity_issue ON issue_activity (project_id, issue_id, at DESC, id);

-- The fingerprints of issues merged into another: grouping looks them up
-- after `issues.fingerprint`, so their new events land in the issue they
-- were merged into. Deleting that issue deletes them, and their events
-- start a new issue again.
CREATE TABLE merged_fingerprints (
    project_id   uuid NOT NULL,
    fingerprint  text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{32}$'),
    issue_id     uuid NOT NULL,
    merged_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, fingerprint),
    FOREIGN KEY (project_id, issue_id) REFERENCES issues (project_id, id) ON DELETE CASCADE
);
CREATE INDEX merged_fingerprints_issue ON merged_fingerprints (project_id, issue_id);
