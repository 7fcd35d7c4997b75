-- The notifier's storm guard: new issues held back for a recipient who has
-- already had SENTORI_NOTIFY_DIGEST_THRESHOLD new-issue emails of the
-- project within the window. They go out together as one digest email when
-- the window since the first held item has passed; sending the digest writes
-- a `deliveries` row per issue and deletes these rows in one transaction, so
-- the digest is in the delivery log like any other email.
CREATE TABLE notify_digest_items (
    project_id    uuid NOT NULL,
    recipient_id  uuid NOT NULL,
    issue_id      uuid NOT NULL,
    occurrence    bigint NOT NULL,
    queued_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (project_id, recipient_id, issue_id, occurrence)
);
CREATE INDEX notify_digest_items_queued ON notify_digest_items (queued_at);

-- The storm guard counts a recipient's recent new-issue emails.
CREATE INDEX deliveries_recent ON deliveries (project_id, recipient_id, reason, sent_at);
