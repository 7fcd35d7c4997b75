-- A trace's duration is its extent, from the earliest span start to the
-- latest span end. It was the root span's duration once a root arrived,
-- which hid the work of a child that outlived the root (a background
-- request a screen started) and of spans that started before it.
UPDATE traces SET duration_ms = (extract(epoch FROM ended_at - started_at) * 1000)::bigint
 WHERE duration_ms <> (extract(epoch FROM ended_at - started_at) * 1000)::bigint;
COMMENT ON COLUMN traces.duration_ms IS 'ended_at - started_at in ms: the extent of all its spans';
COMMENT ON COLUMN traces.root_duration_ms IS 'the root span''s own duration, once the root has arrived';
