-- An event's payload is written once, by the processor's COPY, and read
-- back whole, one event at a time (the event page). As `jsonb`, PostgreSQL
-- parsed every payload into its binary form on the way in: with the
-- processor benchmark's events (~4 KB, 10 frames, 20 breadcrumbs) a COPY of
-- 50 000 rows took 8.5 s as `jsonb` and 5.2-5.8 s as `json`, which checks
-- the text and stores it as it came (docs/performance.md). It is also
-- smaller on disk (75 against 88 MB for those rows).
--
-- `json` keeps no parsed form, so every `payload->...` re-reads the whole
-- text (about 30 µs for such an event, against 8 µs as `jsonb`). What the
-- dashboard lists per event (its title and device) and counts over an
-- issue's recent events (the tag breakdown) therefore becomes columns the
-- processor fills from the fields it has already parsed; nothing reads
-- inside `events.payload` in SQL any more. A repeated key stays in the
-- stored text; every reader (PostgreSQL's json functions, serde_json, the
-- browser) takes its last value, as jsonb did when it dropped the others.
--
-- Existing rows are filled from their payload first, then the column type
-- changes. Both rewrite the events table once: on a large install, run this
-- migration in a quiet hour.
ALTER TABLE events
    ADD COLUMN title        text,
    ADD COLUMN os           text,
    ADD COLUMN os_version   text,
    ADD COLUMN device_model text,
    ADD COLUMN runtime      text;

UPDATE events SET
    title = coalesce(
        nullif(concat_ws(': ', payload->'error'->>'type', nullif(payload->'error'->>'message', '')), ''),
        payload->>'message'),
    os = payload->'device'->>'os',
    os_version = payload->'device'->>'osVersion',
    device_model = payload->'device'->>'model',
    runtime = coalesce(
        nullif(trim(concat_ws(' ', payload->'app'->'framework'->>'name', payload->'app'->'framework'->>'version')), ''),
        payload->'tags'->>'browser',
        payload->'tags'->>'runtime');

ALTER TABLE events ALTER COLUMN payload TYPE json;
