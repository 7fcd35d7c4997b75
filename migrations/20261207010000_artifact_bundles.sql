-- Source maps as sentry-cli uploads them (protocol.md, "Sentry's /api/0/"):
-- chunks first, then a zip "artifact bundle" assembled from them, whose
-- files carry debug ids.

-- Chunks waiting to be assembled, per project (a token sees only its own
-- project's chunks, so `missingChunks` reveals nothing about other
-- projects). The bytes live in the chunk store under their SHA-256; rows
-- older than a few hours were never assembled and are swept.
CREATE TABLE upload_chunks (
    project_id      uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    sha1            text NOT NULL,
    content_sha256  text NOT NULL,
    size_bytes      bigint NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, sha1)
);
CREATE INDEX upload_chunks_created ON upload_chunks (created_at);
CREATE INDEX upload_chunks_sha256 ON upload_chunks (content_sha256);

-- One assembly per project and bundle checksum (the SHA-1 of the whole
-- zip): its state answers sentry-cli's polling, and a bundle assembled once
-- answers `ok` to the next upload of the same bytes without any chunk.
CREATE TABLE artifact_bundles (
    project_id   uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    checksum     text NOT NULL,
    state        text NOT NULL CHECK (state IN ('assembling', 'ok', 'error')),
    detail       text,
    -- The manifest's own `debug_id` (sentry-cli's "Bundle ID").
    bundle_id    text,
    release      text,
    dist         text,
    file_count   integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, id),
    UNIQUE (project_id, checksum)
);
CREATE INDEX artifact_bundles_release ON artifact_bundles (project_id, release) WHERE release IS NOT NULL;

-- The files of an assembled bundle, stored in the artifact blob store and
-- found by debug id.
CREATE TABLE artifact_bundle_files (
    project_id      uuid NOT NULL,
    bundle_id       uuid NOT NULL,
    -- The zip entry's path.
    name            text NOT NULL,
    -- The manifest's `url` (`~/bundle.js`).
    url             text NOT NULL,
    -- The manifest's `type`: `minified_source`, `source_map`, `source`, ...
    kind            text NOT NULL,
    debug_id        uuid,
    content_sha256  text NOT NULL,
    size_bytes      bigint NOT NULL,
    PRIMARY KEY (project_id, bundle_id, name),
    FOREIGN KEY (project_id, bundle_id) REFERENCES artifact_bundles (project_id, id) ON DELETE CASCADE
);
CREATE INDEX artifact_bundle_files_debug_id ON artifact_bundle_files (project_id, debug_id, kind) WHERE debug_id IS NOT NULL;
CREATE INDEX artifact_bundle_files_sha ON artifact_bundle_files (content_sha256);
